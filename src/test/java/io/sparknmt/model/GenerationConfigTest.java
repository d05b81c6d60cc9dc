package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.TestPaths;
import io.sparknmt.model.GenerationConfig.EarlyStopping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generation_config.json resolved as transformers 4.4x resolves it; unsupported keys refused by name. */
class GenerationConfigTest {
    static MarianConfig config;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        config = MarianConfig.read(TestPaths.sampleModel().resolve("config.json"));
    }

    private static GenerationConfig parse(String json) throws IOException {
        JsonNode n = Json.MAPPER.readTree(json);
        return GenerationConfig.parse(n, "generation_config.json", config, false);
    }

    @Test
    void lengthsAsGenerateResolvesThem() throws IOException {
        assertEquals(21, parse("{}").maxLength(), "default max_length 20 allows 20 new tokens");
        assertEquals(21, parse("{\"max_length\":20}").maxLength());
        assertEquals(30, parse("{\"max_length\":30}").maxLength());
        assertEquals(8, parse("{\"max_length\":30,\"max_new_tokens\":7}").maxLength(), "max_new_tokens wins");
        assertEquals(512, parse("{\"max_length\":4000}").maxLength(), "at most max_position_embeddings");
        assertEquals(0, parse("{}").minNewTokens());
        assertEquals(0, parse("{\"min_length\":1}").minNewTokens(), "min_length counts the start token");
        assertEquals(9, parse("{\"min_length\":10}").minNewTokens());
        assertEquals(4, parse("{\"min_length\":10,\"min_new_tokens\":4}").minNewTokens(), "min_new_tokens wins");
    }

    @Test
    void everySupportedKeyIsRead() throws IOException {
        GenerationConfig g = parse("{\"num_beams\":5,\"length_penalty\":0.6,\"early_stopping\":\"never\","
                + "\"no_repeat_ngram_size\":3,\"encoder_no_repeat_ngram_size\":2,\"repetition_penalty\":1.2,"
                + "\"num_return_sequences\":3,\"renormalize_logits\":true,\"bad_words_ids\":[[11564],[0],[5,6],[7,8,9]],"
                + "\"eos_token_id\":[3],\"decoder_start_token_id\":7,\"forced_eos_token_id\":3,\"temperature\":0.3,"
                + "\"top_k\":5,\"output_scores\":true,\"transformers_version\":\"4.46.0\"}");
        assertEquals(5, g.numBeams());
        assertEquals(0.6, g.lengthPenalty());
        assertEquals(EarlyStopping.NEVER, g.earlyStopping());
        assertEquals(3, g.noRepeatNgramSize());
        assertEquals(2, g.encoderNoRepeatNgramSize());
        assertEquals(1.2, g.repetitionPenalty());
        assertEquals(3, g.numReturnSequences());
        assertTrue(g.renormalizeLogits());
        assertEquals(3, g.eosId(), "generation_config's eos over config.json's 0");
        assertEquals(7, g.decoderStartId());
        assertEquals(3, g.forcedEosId());
        assertArrayEquals(new int[]{11564, 0}, g.badTokenIds(), "[eos] is dropped only when eos is 0");
        assertArrayEquals(new int[][]{{5, 6}, {7, 8, 9}}, g.badSequences());
        assertTrue(g.unsupported().isEmpty(), "sampling knobs without do_sample change nothing: " + g.unsupported());

        GenerationConfig e = parse("{\"bad_words_ids\":[[11564],[0]]}");
        assertArrayEquals(new int[]{11564}, e.badTokenIds(), "NoBadWordsLogitsProcessor drops [eos]");
        assertEquals(EarlyStopping.TRUE, parse("{\"early_stopping\":true}").earlyStopping());
        assertEquals(EarlyStopping.FALSE, parse("{\"early_stopping\":false}").earlyStopping());
        assertEquals(-1, parse("{}").forcedEosId(), "a generation_config.json without forced_eos_token_id forces nothing");
        assertEquals(config.eosId(), parse("{}").eosId(), "missing ids fall back to config.json");
        assertEquals(0, parse("{\"bos_token_id\":0}").decoderStartId(), "bos_token_id when decoder_start_token_id is absent");
    }

    @Test
    void badValuesAreModelErrorsNamingTheKey() {
        for (String[] c : List.of(
                new String[]{"{\"early_stopping\":\"sometimes\"}", "early_stopping"},
                new String[]{"{\"repetition_penalty\":0}", "repetition_penalty"},
                new String[]{"{\"no_repeat_ngram_size\":-1}", "no_repeat_ngram_size"},
                new String[]{"{\"max_new_tokens\":0}", "max_new_tokens"},
                new String[]{"{\"num_beams\":2,\"num_return_sequences\":3}", "num_return_sequences"},
                new String[]{"{\"bad_words_ids\":[]}", "bad_words_ids"},
                new String[]{"{\"bad_words_ids\":[[5,99999]]}", "bad_words_ids"},
                new String[]{"{\"bad_words_ids\":[[]]}", "bad_words_ids"},
                new String[]{"{\"renormalize_logits\":\"yes\"}", "renormalize_logits"},
                new String[]{"{\"eos_token_id\":99999}", "eos_token_id"})) {
            ModelFormatException ex = assertThrows(ModelFormatException.class, () -> parse(c[0]), c[0]);
            assertTrue(ex.getMessage().contains(c[1]) && ex.getMessage().contains("generation_config.json"), ex.getMessage());
        }
    }

    @Test
    void unsupportedKeysAreRefusedByNameUnlessIgnored() throws IOException {
        GenerationConfig g = parse("{\"do_sample\":true,\"num_beam_groups\":2,\"diversity_penalty\":0.5,"
                + "\"constraints\":[1],\"force_words_ids\":[[5]],\"sequence_bias\":{\"5\":1.0},\"suppress_tokens\":[3],"
                + "\"encoder_repetition_penalty\":1.1,\"forced_bos_token_id\":4,\"eos_token_id\":[0,3],"
                + "\"remove_invalid_values\":true,\"penalty_alpha\":0.6,\"guidance_scale\":1.5}");
        ModelFormatException ex = assertThrows(ModelFormatException.class, () -> g.requireSupported(Set.of()));
        for (String k : List.of("do_sample", "num_beam_groups", "diversity_penalty", "constraints", "force_words_ids",
                "sequence_bias", "suppress_tokens", "encoder_repetition_penalty", "forced_bos_token_id", "eos_token_id",
                "remove_invalid_values", "penalty_alpha", "guidance_scale")) {
            assertTrue(ex.getMessage().contains(k + "="), k + ": " + ex.getMessage());
        }
        assertTrue(ex.getMessage().contains("generation_config.json") && ex.getMessage().contains("--ignore-generation-key"),
                ex.getMessage());
        ModelFormatException one = assertThrows(ModelFormatException.class,
                () -> g.requireSupported(Set.copyOf(g.unsupported().keySet()).stream().filter(k -> !k.equals("do_sample"))
                        .collect(java.util.stream.Collectors.toSet())));
        assertTrue(one.getMessage().contains("do_sample=true") && !one.getMessage().contains("num_beam_groups"), one.getMessage());
        g.requireSupported(g.unsupported().keySet());
        parse("{\"do_sample\":false,\"num_beam_groups\":1,\"diversity_penalty\":0.0,\"constraints\":null,"
                + "\"forced_decoder_ids\":[],\"encoder_repetition_penalty\":1.0}").requireSupported(Set.of());
    }

    @Test
    void aFileMadeFromTheModelConfigIsRebuiltFromConfigJson() throws IOException {
        Path d = TestPaths.copySampleModel(tmp.resolve("m"));
        Files.writeString(d.resolve("generation_config.json"),
                "{\"_from_model_config\":true,\"num_beams\":2,\"max_length\":40,\"renormalize_logits\":true}");
        GenerationConfig g = GenerationConfig.read(d, config);
        assertEquals(4, g.numBeams(), "config.json's num_beams");
        assertEquals(512, g.maxLength());
        assertEquals(false, g.renormalizeLogits());
        assertTrue(g.source().endsWith("config.json"), g.source());

        Files.writeString(d.resolve("generation_config.json"), "{\"num_beams\":2,\"max_length\":40,\"renormalize_logits\":true}");
        GenerationConfig own = GenerationConfig.read(d, config);
        assertEquals(2, own.numBeams());
        assertEquals(40, own.maxLength());
        assertTrue(own.renormalizeLogits());

        Files.delete(d.resolve("generation_config.json"));
        GenerationConfig cfg = GenerationConfig.read(d, config);
        assertEquals(4, cfg.numBeams());
        assertEquals(0, cfg.forcedEosId(), "config.json's forced_eos_token_id");
    }
}
