package io.sparknmt.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HubCacheTest {
    @TempDir
    Path tmp;

    static final String MAIN = "1111111111111111111111111111111111111111";
    static final String V1 = "2222222222222222222222222222222222222222";

    /** A cache laid out as huggingface_hub writes it: refs, snapshots of symlinks, blobs. */
    private Path cache(Path root, String repo) throws IOException {
        Path r = root.resolve("models--" + repo.replace("/", "--"));
        Files.createDirectories(r.resolve("blobs"));
        Files.createDirectories(r.resolve("refs/pr"));
        Files.writeString(r.resolve("refs/main"), MAIN + "\n");
        Files.writeString(r.resolve("refs/v1"), V1);
        Files.writeString(r.resolve("refs/pr/1"), V1);
        Files.writeString(r.resolve("blobs/aaaa"), "{\"main\":true}");
        Files.writeString(r.resolve("blobs/bbbb"), "{\"v1\":true}");
        for (String[] s : new String[][]{{MAIN, "aaaa"}, {V1, "bbbb"}}) {
            Path snap = Files.createDirectories(r.resolve("snapshots").resolve(s[0]));
            Files.createSymbolicLink(snap.resolve("config.json"), Path.of("../../blobs").resolve(s[1]));
        }
        return r;
    }

    @Test
    void resolvesBranchesTagsAndHashesThroughRefsAndSnapshots() throws IOException {
        Path hub = tmp.resolve("hub");
        Path r = cache(hub, "Helsinki-NLP/opus-mt-en-de");
        Map<String, String> env = Map.of("HF_HUB_CACHE", hub.toString());
        assertEquals(r.resolve("snapshots").resolve(MAIN), HubCache.resolve("Helsinki-NLP/opus-mt-en-de", env::get, null));
        assertEquals(r.resolve("snapshots").resolve(V1), HubCache.resolve("Helsinki-NLP/opus-mt-en-de@v1", env::get, null));
        assertEquals(r.resolve("snapshots").resolve(V1), HubCache.resolve("Helsinki-NLP/opus-mt-en-de@refs/pr/1".replace("refs/", ""), env::get, null));
        assertEquals(r.resolve("snapshots").resolve(V1), HubCache.resolve("Helsinki-NLP/opus-mt-en-de@" + V1, env::get, null));
        Path cfg = HubCache.resolve("Helsinki-NLP/opus-mt-en-de@v1", env::get, null).resolve("config.json");
        assertEquals("{\"v1\":true}", Files.readString(cfg)); // through the symlink into blobs/
    }

    @Test
    void cachesAreTriedInOrderAndTheErrorListsEveryPath() throws IOException {
        Path home = tmp.resolve("home");
        Path hfHome = tmp.resolve("hf-home");
        cache(home.resolve(".cache/huggingface/hub"), "org/only-in-home");
        cache(hfHome.resolve("hub"), "org/both");
        cache(home.resolve(".cache/huggingface/hub"), "org/both");
        Map<String, String> env = Map.of("HF_HOME", hfHome.toString(), "HF_HUB_CACHE", tmp.resolve("empty").toString());
        assertEquals(List.of(tmp.resolve("empty"), hfHome.resolve("hub"), home.resolve(".cache/huggingface/hub")),
                HubCache.caches(env::get, home.toString()));
        assertTrue(HubCache.resolve("org/both", env::get, home.toString()).startsWith(hfHome));
        assertTrue(HubCache.resolve("org/only-in-home", env::get, home.toString()).startsWith(home));

        ModelFormatException ex = assertThrows(ModelFormatException.class,
                () -> HubCache.resolve("org/missing@dev", env::get, home.toString()));
        String m = ex.getMessage();
        assertTrue(m.contains("never downloads"), m);
        for (Path p : List.of(tmp.resolve("empty"), hfHome.resolve("hub"), home.resolve(".cache/huggingface/hub"))) {
            assertTrue(m.contains(p.resolve("models--org--missing/refs/dev").toString()), m);
        }
        ex = assertThrows(ModelFormatException.class, () -> HubCache.resolve("org/both@" + "3".repeat(40), env::get, home.toString()));
        assertTrue(ex.getMessage().contains("snapshots/" + "3".repeat(40)), ex.getMessage());
    }

    @Test
    void incompleteSnapshotsAndBadRefsAreRefused() throws IOException {
        Path hub = tmp.resolve("hub");
        Path r = cache(hub, "org/m");
        Files.delete(r.resolve("snapshots").resolve(MAIN).resolve("config.json"));
        Map<String, String> env = Map.of("HF_HUB_CACHE", hub.toString());
        assertTrue(assertThrows(ModelFormatException.class, () -> HubCache.resolve("org/m", env::get, null))
                .getMessage().contains("incomplete download"));
        Files.writeString(r.resolve("refs/main"), "../../etc");
        assertTrue(assertThrows(ModelFormatException.class, () -> HubCache.resolve("org/m", env::get, null))
                .getMessage().contains("not a commit hash"));
    }

    @Test
    void whatLooksLikeAHubId() {
        assertTrue(HubCache.looksLikeId("Helsinki-NLP/opus-mt-en-de"));
        assertTrue(HubCache.looksLikeId("Helsinki-NLP/opus-mt-tc-big-en-pt@main"));
        assertTrue(HubCache.looksLikeId("org/name@0123456789abcdef0123456789abcdef01234567"));
        assertFalse(HubCache.looksLikeId("opus-mt-en-de"));
        assertFalse(HubCache.looksLikeId("/models/opus-mt-en-de"));
        assertFalse(HubCache.looksLikeId("a/b/c"));
        assertFalse(HubCache.looksLikeId("../x/y"));
        assertFalse(HubCache.looksLikeId("org/name@../../x"));
    }
}
