package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.io.UsageException;
import io.sparknmt.model.GenerationConfig.EarlyStopping;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generation flags (--length-penalty, --no-repeat-ngram-size, --repetition-penalty,
 * --min-output-tokens, --early-stopping, --n-best) over generation_config.json, and the refusal
 * of keys the engine does not implement (exit 3) unless --ignore-generation-key names them.
 */
class GenerationSettingsTest {
    @TempDir
    Path tmp;

    private Path model(String generationConfig) throws IOException {
        Path d = TestPaths.copySampleModel(tmp.resolve("m" + System.nanoTime()));
        Files.writeString(d.resolve("generation_config.json"), generationConfig);
        return d;
    }

    private static String[] args(Path model, String... more) {
        String[] b = {"--model", model.toString(), "--input", "in.txt", "--output", "out", "--output-format", "jsonl"};
        String[] all = new String[b.length + more.length];
        System.arraycopy(b, 0, all, 0, b.length);
        System.arraycopy(more, 0, all, b.length, more.length);
        return all;
    }

    @Test
    void flagsBeatTheGenerationConfigWhichBeatsTheDefaults() throws IOException {
        Path m = model("{\"num_beams\":4,\"max_new_tokens\":30,\"max_length\":200,\"length_penalty\":0.7,"
                + "\"no_repeat_ngram_size\":3,\"repetition_penalty\":1.3,\"min_length\":5,\"early_stopping\":\"never\","
                + "\"num_return_sequences\":2,\"bad_words_ids\":[[11564]],\"decoder_start_token_id\":11564,"
                + "\"eos_token_id\":0,\"forced_eos_token_id\":0}");
        ModelBundle bundle = ModelBundle.load(m);
        DecodeOptions model = JobSettings.parse(args(m)).decodeOptions(bundle);
        assertEquals(new DecodeOptions(4, 31, 0.7, 2, 4, EarlyStopping.NEVER, 3, 1.3), model);
        assertEquals(30, JobSettings.parse(args(m)).maxOutputTokens(bundle), "max_new_tokens");

        DecodeOptions flags = JobSettings.parse(args(m, "--length-penalty", "1.5", "--no-repeat-ngram-size", "0",
                "--repetition-penalty", "1", "--min-output-tokens", "2", "--early-stopping", "TRUE", "--n-best", "3",
                "--max-output-tokens", "12")).decodeOptions(bundle);
        assertEquals(new DecodeOptions(4, 13, 1.5, 3, 2, EarlyStopping.TRUE, 0, 1.0), flags);

        assertEquals(1, JobSettings.parse("--model", m.toString(), "--input", "in.txt", "--output", "out", "--output-format",
                "tsv").nBest(bundle),
                "num_return_sequences needs an n_best column");
        assertEquals(1, JobSettings.parse(args(m, "--beam-size", "1")).nBest(bundle), "at most the beam size");

        ModelBundle plain = ModelBundle.load(TestPaths.sampleModel());
        DecodeOptions none = JobSettings.parse(args(TestPaths.sampleModel())).decodeOptions(plain);
        assertEquals(new DecodeOptions(4, 512, 1.0, 1, 0, EarlyStopping.FALSE, 0, 1.0), none);

        for (String[] bad : new String[][]{{"--early-stopping", "maybe"}, {"--repetition-penalty", "0"},
                {"--no-repeat-ngram-size", "-1"}, {"--min-output-tokens", "-2"}, {"--length-penalty", "NaN"}}) {
            UsageException ex = assertThrows(UsageException.class, () -> JobSettings.parse(args(m, bad)), bad[0]);
            assertTrue(ex.getMessage().contains(bad[0]), ex.getMessage());
        }
    }

    @Test
    void theOptionsHashKeepsItsLayoutUnlessANewFlagIsGiven() throws IOException {
        ModelBundle plain = ModelBundle.load(TestPaths.sampleModel());
        String h = JobSettings.parse(args(TestPaths.sampleModel())).optionsHash(plain);
        assertEquals(h, JobSettings.parse(args(TestPaths.sampleModel())).optionsHash(plain));
        for (String[] f : new String[][]{{"--length-penalty", "0.5"}, {"--no-repeat-ngram-size", "3"},
                {"--repetition-penalty", "1.2"}, {"--min-output-tokens", "3"}, {"--early-stopping", "never"},
                {"--ignore-generation-key", "do_sample"}}) {
            assertNotEquals(h, JobSettings.parse(args(TestPaths.sampleModel(), f)).optionsHash(plain), f[0]);
        }
    }

    @Test
    void anUnsupportedKeyIsExit3NamingItUnlessIgnored() throws IOException {
        Path m = model("{\"num_beams\":4,\"max_length\":512,\"do_sample\":true,\"top_k\":10,\"num_beam_groups\":2,"
                + "\"bad_words_ids\":[[11564]],\"decoder_start_token_id\":11564,\"eos_token_id\":0}");
        ModelBundle bundle = ModelBundle.load(m);
        ModelFormatException ex = assertThrows(ModelFormatException.class,
                () -> JobSettings.parse(args(m)).partitionSettings(bundle));
        assertTrue(ex.getMessage().contains("do_sample=true") && ex.getMessage().contains("num_beam_groups=2")
                && ex.getMessage().contains("generation_config.json"), ex.getMessage());
        ModelFormatException one = assertThrows(ModelFormatException.class,
                () -> JobSettings.parse(args(m, "--ignore-generation-key", "do_sample")).partitionSettings(bundle));
        assertTrue(one.getMessage().contains("num_beam_groups") && !one.getMessage().contains("do_sample"), one.getMessage());
        JobSettings.parse(args(m, "--ignore-generation-key", "do_sample,num_beam_groups")).partitionSettings(bundle);
        JobSettings.parse(args(m, "--ignore-generation-key", "do_sample", "--ignore-generation-key", "num_beam_groups"))
                .partitionSettings(bundle);

        // the job: exit 3 before Spark starts, the message on stderr
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(TranslateJob.EXIT_MODEL, TranslateJob.run("--model", m.toString(), "--input",
                    TestPaths.repo().resolve("sample-data/corpus/en.txt").toString(), "--output", tmp.resolve("out").toString()));
        } finally {
            System.setErr(err);
        }
        String msg = buf.toString(StandardCharsets.UTF_8);
        assertTrue(msg.contains("do_sample") && msg.contains("generation_config.json"), msg);
    }
}
