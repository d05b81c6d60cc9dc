package io.sparknmt.tokenizer;

import java.io.IOException;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Run in a JVM of its own by {@link NoCallHomeTest}: records every http(s) URL the JVM makes and
 * every proxy look-up while a tokenizer is loaded and used (connections opened with
 * {@code Proxy.NO_PROXY}, as DJL's are, skip the ProxySelector but not the URL stream handler,
 * which here records and refuses), then prints them, one per line after "attempted:".
 */
public final class NetworkProbe {
    private NetworkProbe() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        List<Object> attempted = new CopyOnWriteArrayList<>();
        URL.setURLStreamHandlerFactory(protocol -> !protocol.startsWith("http") ? null : new URLStreamHandler() {
            @Override
            protected URLConnection openConnection(URL u) throws IOException {
                attempted.add(u);
                throw new IOException("NetworkProbe refuses " + u);
            }

            @Override
            protected URLConnection openConnection(URL u, Proxy p) throws IOException {
                return openConnection(u);
            }
        });
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                attempted.add(uri);
                return List.of(Proxy.NO_PROXY);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException e) {
            }
        });
        try (MarianTokenizer tok = MarianTokenizer.load(Path.of(args[0]))) {
            System.out.println("ids " + tok.encode("A dog runs.").length);
        }
        Thread.sleep(500); // a call made from a background thread would land here
        System.out.println("attempted:");
        attempted.forEach(System.out::println);
    }
}
