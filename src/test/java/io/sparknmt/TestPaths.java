package io.sparknmt;

import java.nio.file.Path;

/** Where tests find the repository's files. */
public final class TestPaths {
    private TestPaths() {
    }

    public static Path repo() {
        return Path.of(System.getProperty("spark.nmt.repo", ".")).toAbsolutePath().normalize();
    }

    /** The sample model the README uses (tools/sample-model makes it). */
    public static Path sampleModel() {
        return repo().resolve("sample-data/model");
    }

    public static Path fixtures() {
        return repo().resolve("src/test/resources/fixtures");
    }

    /** Multi30k's test_2016_flickr en/de pair, shipped with the tests (see its README.md). */
    public static Path multi30k() {
        return repo().resolve("src/test/resources/multi30k");
    }

    /** A copy of the sample model's files in {@code to} (created), for tests that break one of them. */
    public static Path copySampleModel(Path to) throws java.io.IOException {
        java.nio.file.Files.createDirectories(to);
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(sampleModel())) {
            for (Path f : s.toList()) {
                java.nio.file.Files.copy(f, to.resolve(f.getFileName().toString()));
            }
        }
        return to;
    }
}
