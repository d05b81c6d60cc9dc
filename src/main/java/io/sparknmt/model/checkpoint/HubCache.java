package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a Hugging Face hub id ({@code Helsinki-NLP/opus-mt-en-de}, optionally
 * {@code @revision}: a branch, tag or commit hash) to its snapshot directory in the local hub
 * cache, offline: {@code <cache>/models--<org>--<name>/refs/<revision>} holds the commit hash,
 * {@code snapshots/<hash>/} the files (symlinks into {@code blobs/}). Caches tried, in order:
 * {@code $HF_HUB_CACHE}, {@code $HF_HOME/hub}, {@code $XDG_CACHE_HOME/huggingface/hub},
 * {@code ~/.cache/huggingface/hub}. Nothing is ever downloaded.
 */
public final class HubCache {
    private static final Pattern ID = Pattern.compile(
            "((?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95})(?:@([A-Za-z0-9._/-]{1,200}))?");
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{40}");

    private HubCache() {
    }

    /** Whether {@code s} has the form of a hub id (with an organisation: a bare name is taken as a path). */
    public static boolean looksLikeId(String s) {
        Matcher m = ID.matcher(s);
        return m.matches() && m.group(1).contains("/") && !s.contains("..") && !s.startsWith(".");
    }

    /** The cache directories to try, in order, from the environment. */
    public static List<Path> caches(UnaryOperator<String> env, String home) {
        Set<Path> out = new LinkedHashSet<>();
        if (nonEmpty(env.apply("HF_HUB_CACHE"))) {
            out.add(Path.of(env.apply("HF_HUB_CACHE")));
        }
        if (nonEmpty(env.apply("HF_HOME"))) {
            out.add(Path.of(env.apply("HF_HOME"), "hub"));
        }
        if (nonEmpty(env.apply("XDG_CACHE_HOME"))) {
            out.add(Path.of(env.apply("XDG_CACHE_HOME"), "huggingface", "hub"));
        }
        if (nonEmpty(home)) {
            out.add(Path.of(home, ".cache", "huggingface", "hub"));
        }
        return new ArrayList<>(out);
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isEmpty();
    }

    /** Resolves with the process environment. */
    public static Path resolve(String id) {
        return resolve(id, System::getenv, System.getProperty("user.home"));
    }

    /** The snapshot directory of {@code id}; an error lists every path tried. */
    public static Path resolve(String id, UnaryOperator<String> env, String home) {
        Matcher m = ID.matcher(id);
        if (!m.matches() || id.contains("..")) {
            throw new ModelFormatException(id + ": not a local path or a hub id (org/name[@revision])");
        }
        String repo = "models--" + m.group(1).replace("/", "--");
        String rev = m.group(2) == null ? "main" : m.group(2);
        List<String> tried = new ArrayList<>();
        tried.add(id + " (as a local path)");
        for (Path cache : caches(env, home)) {
            Path dir = cache.resolve(repo);
            String hash = null;
            if (HASH.matcher(rev).matches()) {
                hash = rev;
            } else {
                Path ref = dir.resolve("refs").resolve(rev);
                if (Files.isRegularFile(ref)) {
                    try {
                        hash = Files.readString(ref, StandardCharsets.US_ASCII).strip();
                    } catch (IOException e) {
                        throw new ModelFormatException(ref + ": cannot read: " + e.getMessage(), e);
                    }
                    if (!HASH.matcher(hash).matches()) {
                        throw new ModelFormatException(ref + ": holds \"" + hash + "\", not a commit hash");
                    }
                } else {
                    tried.add(ref.toString());
                    continue;
                }
            }
            Path snap = dir.resolve("snapshots").resolve(hash);
            if (Files.isDirectory(snap)) {
                if (!Files.exists(snap.resolve("config.json")) && !MarianRelease.isRelease(snap)) {
                    throw new ModelFormatException(snap + ": the cached snapshot of " + id + " has no config.json"
                            + " (an incomplete download?)");
                }
                return snap;
            }
            tried.add(snap.toString());
        }
        throw new ModelFormatException(id + ": no such local directory, and not in the Hugging Face cache (revision "
                + rev + "); spark-nmt never downloads. Tried: " + String.join(", ", tried)
                + ". Fetch it once with `huggingface-cli download " + m.group(1) + "` or set HF_HUB_CACHE / HF_HOME.");
    }
}
