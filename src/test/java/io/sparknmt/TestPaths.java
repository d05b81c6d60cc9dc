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
}
