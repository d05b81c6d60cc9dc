package io.sparknmt.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.checkpoint.TorchWriter.Pickle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TorchCheckpointTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        return TestPaths.repo().resolve("src/test/resources/checkpoints").resolve(name);
    }

    /** Files written by torch.save itself (tools/checkpoints/make_fixtures.py), both formats. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-zip.bin", "tiny-legacy.bin"})
    void realTorchSaveFilesLoadWithTheExactValues(String name) throws IOException {
        JsonNode exp = new ObjectMapper().readTree(fixture("tiny-torch.json").toFile()).path("tensors");
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture(name))) {
            assertEquals(exp.size(), ck.names().size());
            for (Iterator<Map.Entry<String, JsonNode>> it = exp.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int[] shape = new int[e.getValue().path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = e.getValue().path("shape").get(i).asInt();
                }
                JsonNode vals = e.getValue().path("values");
                float[] want = new float[vals.size()];
                for (int i = 0; i < want.length; i++) {
                    want[i] = (float) vals.get(i).asDouble();
                }
                assertArrayEquals(want, ck.read(e.getKey(), shape), e.getKey());
            }
            assertTrue(ck.sharesStorage("w", "tied"));
            assertTrue(ck.sharesStorage("w", "w_t"));
            assertEquals("F16", ck.dtype("half"));
            assertEquals("BF16", ck.dtype("bf16"));
            ModelFormatException ex = assertThrows(ModelFormatException.class, () -> ck.read("w", 4, 3));
            assertTrue(ex.getMessage().contains(name) && ex.getMessage().contains("tensor w has shape [3, 4]"), ex.getMessage());
        }
    }

    @Test
    void javaWriterMatchesTheReaderInBothFormats() throws IOException {
        float[] a = {1, -2, 3.5f, 0.25f, 7, 8};
        float[] h = {0.5f, -1.5f, 65504f};
        float[] b = {1.0f, -0.0078125f};
        TorchWriter w = new TorchWriter().put("a", "F32", new int[]{2, 3}, a).put("h", "F16", new int[]{3}, h)
                .put("b", "BF16", new int[]{1, 2}, b).tie("a2", "a");
        for (boolean legacy : new boolean[]{false, true}) {
            Path f = dir.resolve(legacy ? "l.bin" : "z.bin");
            if (legacy) {
                w.writeLegacy(f);
            } else {
                w.writeZip(f);
            }
            try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
                assertEquals(Set.of("a", "h", "b", "a2"), ck.names());
                assertArrayEquals(a, ck.read("a", 2, 3));
                assertArrayEquals(a, ck.read("a2", 2, 3));
                assertArrayEquals(h, ck.read("h", 3));
                assertArrayEquals(b, ck.read("b", 1, 2));
                assertTrue(ck.sharesStorage("a", "a2"));
            }
        }
    }

    // ------------------------------------------------------------ hostile files

    private Path zipWithPickle(String name, byte[] pkl, Map<String, byte[]> extra) throws IOException {
        Path f = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pkl);
            z.closeEntry();
            for (Map.Entry<String, byte[]> e : extra.entrySet()) {
                z.putNextEntry(new ZipEntry("archive/" + e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return f;
    }

    private static String refused(Path f) {
        long t0 = System.nanoTime();
        ModelFormatException ex = assertThrows(ModelFormatException.class, () -> TorchCheckpoint.open(f).close());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 10_000, "refusal took " + ms + " ms");
        assertTrue(ex.getMessage().contains(f.getFileName().toString()), ex.getMessage());
        return ex.getMessage();
    }

    @Test
    void picklesNamingOsSystemOrEvalAreRefusedByName() throws IOException {
        // Written by Python's pickler: os.system pickles as posix.system.
        String m = refused(fixture("evil-os-system.bin"));
        assertTrue(m.contains("global posix.system is not allowed"), m);
        m = refused(fixture("evil-eval.bin")); // protocol 2 writes builtins as __builtin__
        assertTrue(m.contains("global __builtin__.eval is not allowed"), m);
        byte[] p = new Pickle().proto().global("os", "system").str("touch /tmp/pwned").op(0x85).op('R').stop().bytes();
        m = refused(zipWithPickle("os.bin", p, Map.of()));
        assertTrue(m.contains("global os.system is not allowed") && m.contains("archive/data.pkl"), m);
        p = new Pickle().proto().op(0x8c).op(8).raw("builtins".getBytes()).op(0x8c).op(4).raw("eval".getBytes())
                .op(0x93).str("1").op(0x85).op('R').stop().bytes();
        m = refused(zipWithPickle("stackglobal.bin", p, Map.of()));
        assertTrue(m.contains("global builtins.eval is not allowed"), m);
        assertTrue(!Files.exists(Path.of("/tmp/pwned")));
    }

    @Test
    void objectBuildingOpcodesAndMisusedGlobalsAreRefused() throws IOException {
        // NEWOBJ of an allowed class
        byte[] p = new Pickle().proto().global("collections", "OrderedDict").op(')').op(0x81).stop().bytes();
        assertTrue(refused(zipWithPickle("newobj.bin", p, Map.of())).contains("builds an arbitrary object"));
        // BUILD on a list
        p = new Pickle().proto().op(']').op('}').op('b').stop().bytes();
        assertTrue(refused(zipWithPickle("build.bin", p, Map.of())).contains("BUILD on a list"));
        // calling a storage class
        p = new Pickle().proto().global("torch", "FloatStorage").op(')').op('R').stop().bytes();
        assertTrue(refused(zipWithPickle("callstorage.bin", p, Map.of())).contains("only a storage type"));
        // a dict key that is not a string
        p = new Pickle().proto().op('}').op(')').int1(1).op('s').stop().bytes();
        assertTrue(refused(zipWithPickle("tuplekey.bin", p, Map.of())).contains("dict key is a tuple"));
        // a state dict entry that is not a tensor
        p = new Pickle().proto().op('}').str("x").int1(1).op('s').stop().bytes();
        assertTrue(refused(zipWithPickle("nottensor.bin", p, Map.of())).contains("entry x is a long 1, not a tensor"));
        // an unknown opcode (INST, protocol 0)
        p = new Pickle().proto().op('i').stop().bytes();
        assertTrue(refused(zipWithPickle("inst.bin", p, Map.of())).contains("opcode 0x69"));
    }

    private static Pickle tensorPickle(int numel, int[] shape, int[] stride, int offset) {
        Pickle p = new Pickle().proto().op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(')
                .op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int4(numel).op('t').op('Q')
                .int4(offset).op('(');
        for (int d : shape) {
            p.int4(d);
        }
        p.op('t').op('(');
        for (int s : stride) {
            p.int4(s);
        }
        return p.op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R').op('s').stop();
    }

    @Test
    void lyingStorageSizesAndOutOfRangeViewsAreRefused() throws IOException {
        byte[] data = new byte[48];
        String m = refused(zipWithPickle("lying.bin", tensorPickle(1_000_000_000, new int[]{3, 4}, new int[]{4, 1}, 0).bytes(),
                Map.of("data/0", data)));
        assertTrue(m.contains("storage 0 claims 1000000000 F32 elements") && m.contains("holds 48 bytes"), m);
        m = refused(zipWithPickle("view.bin", tensorPickle(12, new int[]{3, 4}, new int[]{4, 1}, 1).bytes(),
                Map.of("data/0", data)));
        assertTrue(m.contains("tensor w") && m.contains("reaches element 12 of storage 0, which has 12"), m);
        m = refused(zipWithPickle("nodata.bin", tensorPickle(12, new int[]{3, 4}, new int[]{4, 1}, 0).bytes(), Map.of()));
        assertTrue(m.contains("storage 0 (archive/data/0) is missing"), m);
        // Non-contiguous but in range: read correctly (column-major 3x4 over 12 elements).
        Path ok = zipWithPickle("fortran.bin", tensorPickle(12, new int[]{3, 4}, new int[]{1, 3}, 0).bytes(),
                Map.of("data/0", TorchWriter.encode("F32", new float[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})));
        try (TorchCheckpoint ck = TorchCheckpoint.open(ok)) {
            assertArrayEquals(new float[]{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, ck.read("w", 3, 4));
        }
        // legacy: element count in the data section differs from the pickle's
        Path l = dir.resolve("legacy.bin");
        new TorchWriter().put("w", "F32", new int[]{2}, new float[]{1, 2}).writeLegacy(l);
        byte[] b = Files.readAllBytes(l);
        b[b.length - 16] = 3; // the int64 count before the 8 data bytes
        Files.write(l, b);
        m = refused(l);
        assertTrue(m.contains("storage 0 claims 2 F32 elements in the pickle but 3 in the data section"), m);
    }

    @Test
    void truncatedFilesAreRefused() throws IOException {
        byte[] z = Files.readAllBytes(fixture("tiny-zip.bin"));
        Path f = dir.resolve("trunc-zip.bin");
        Files.write(f, Arrays.copyOf(z, z.length / 2));
        assertTrue(refused(f).contains("broken zip archive"));
        byte[] l = Files.readAllBytes(fixture("tiny-legacy.bin"));
        for (int cut : new int[]{3, 200, l.length - 5}) {
            Path g = dir.resolve("trunc-legacy-" + cut + ".bin");
            Files.write(g, Arrays.copyOf(l, cut));
            assertTrue(refused(g).contains("truncated"), cut + "");
        }
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        assertTrue(refused(empty).contains("truncated"));
    }

    @Test
    void memoStackNestingAndStringBombsFailFastInSmallMemory() throws IOException {
        // memo bomb: LONG_BINPUT at ever new indices
        Pickle p = new Pickle().proto().op(')');
        java.nio.ByteBuffer idx = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i <= RestrictedUnpickler.MAX_MEMO; i++) {
            p.op('r').raw(idx.putInt(0, i).array());
        }
        assertTrue(refused(zipWithPickle("memo.bin", p.stop().bytes(), Map.of())).contains("memo bomb"));
        // nesting bomb: MARKs without end
        byte[] marks = new byte[200_000];
        Arrays.fill(marks, (byte) '(');
        assertTrue(refused(zipWithPickle("marks.bin", new Pickle().proto().raw(marks).stop().bytes(), Map.of()))
                .contains("nesting bomb"));
        // stack bomb: a million and one Nones
        byte[] nones = new byte[RestrictedUnpickler.MAX_STACK + 1];
        Arrays.fill(nones, (byte) 'N');
        assertTrue(refused(zipWithPickle("stack.bin", new Pickle().proto().raw(nones).stop().bytes(), Map.of()))
                .contains("stack deeper"));
        // a 2 GB string announced in 9 bytes
        byte[] big = new Pickle().proto().op('X').raw(new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}).stop().bytes();
        assertTrue(refused(zipWithPickle("string.bin", big, Map.of())).contains("exceeds the limit"));
        // tuple nesting: TUPLE1 a million times is fine for the reader (no recursion) but is no state dict
        byte[] deep = new byte[500_000];
        Arrays.fill(deep, (byte) 0x85);
        assertTrue(refused(zipWithPickle("deep.bin", new Pickle().proto().op('N').raw(deep).stop().bytes(), Map.of()))
                .contains("not a state dict"));
    }
}
