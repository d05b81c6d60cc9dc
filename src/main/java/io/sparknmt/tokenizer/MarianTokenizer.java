package io.sparknmt.tokenizer;

import ai.djl.sentencepiece.SpTokenizer;
import io.sparknmt.model.ModelFiles;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MarianTokenizer's rules on the real SentencePiece library.
 *
 * <ul>
 *   <li>Encode: the literal text of {@code </s>}, {@code <unk>} and {@code <pad>} is split out
 *       first, each its own token (transformers' added-token split); in each stretch between them,
 *       a leading {@code >>xx<<} language code is split off and kept as one token (all
 *       matches of the pattern are removed from the text, as transformers does); the rest goes
 *       through {@code source.spm} as pieces; pieces map to ids through {@code vocab.json}
 *       (unknown pieces to {@code <unk>}); {@code </s>} is appended; no BOS.</li>
 *   <li>Decode: ids map to pieces through the target vocabulary; {@code </s>}, {@code <unk>} and
 *       {@code <pad>} are dropped; {@code target.spm} decodes the pieces; every remaining
 *       {@code ▁} becomes a space; the ends are stripped.</li>
 * </ul>
 *
 * Thread-safe after construction (SentencePiece's encode/decode are const). Owns native
 * SentencePiece processors: close it when done.
 */
public final class MarianTokenizer implements AutoCloseable {

    static {
        offline();
    }

    /**
     * DJL's SentencePiece binding calls {@code Ec2Utils.callHome} when a processor is made: on EC2
     * it asks the instance metadata service for the instance id and sends it to a DJL telemetry
     * bucket, once a day per JVM. The job makes no network call of its own, so both of DJL's
     * switches are turned on here, in every JVM that loads a tokenizer (driver and executors),
     * before the first processor exists: offline mode (no call home, no download of native
     * libraries: they ship in the jar) and the tracking opt-out. DJL reads environment variables
     * first; {@code jobs/} scripts export both as well.
     */
    public static void offline() {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
    }

    /** Python's {@code re.compile(">>.+<<")}: '.' excludes only '\n'. */
    private static final Pattern LANGUAGE_CODE = Pattern.compile(">>.+<<", Pattern.UNIX_LINES);
    private static final char SPIECE_UNDERLINE = '\u2581';

    private final SpTokenizer source;
    private final SpTokenizer target;
    private final Map<String, Integer> sourceVocab;
    private final String[] targetPieces; // id -> piece
    private final Map<String, Integer> targetVocab;
    private final boolean[] special;     // target ids dropped by decode
    private final int eosId;
    private final int unkId;
    private final int padId;
    private final List<String> splitTokens; // special tokens cut out of the input text

    /**
     * @param sourceSpm    bytes of source.spm
     * @param targetSpm    bytes of target.spm
     * @param sourceVocab  piece -> id (vocab.json)
     * @param targetVocab  piece -> id (target_vocab.json, or vocab.json when vocabularies are shared)
     */
    public MarianTokenizer(byte[] sourceSpm, byte[] targetSpm, Map<String, Integer> sourceVocab,
                           Map<String, Integer> targetVocab) {
        this.sourceVocab = Map.copyOf(sourceVocab);
        this.targetVocab = Map.copyOf(targetVocab);
        this.eosId = required(sourceVocab, "</s>", "vocab");
        this.unkId = required(sourceVocab, "<unk>", "vocab");
        int maxId = targetVocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.targetPieces = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : targetVocab.entrySet()) {
            if (e.getValue() < 0) {
                throw new IllegalArgumentException("target vocabulary: negative id " + e.getValue() + " for " + e.getKey());
            }
            targetPieces[e.getValue()] = e.getKey();
        }
        this.special = new boolean[maxId + 1];
        for (String s : List.of("</s>", "<unk>", "<pad>")) {
            Integer id = targetVocab.get(s);
            if (id != null) {
                special[id] = true;
            }
        }
        this.padId = targetVocab.getOrDefault("<pad>", -1);
        this.splitTokens = List.of("</s>", "<unk>", "<pad>").stream().filter(sourceVocab::containsKey).toList();
        SpTokenizer src = new SpTokenizer(sourceSpm);
        try {
            this.target = new SpTokenizer(targetSpm);
        } catch (RuntimeException e) {
            src.close();
            throw e;
        }
        this.source = src;
    }

    /**
     * Opens a model directory's tokenizer once and closes it, so that the driver finds a corrupt
     * SentencePiece file or a vocabulary without its special tokens before any task runs: a
     * {@link ModelFormatException} (the job's exit 3) naming the file, instead of a failure of
     * every executor task.
     */
    public static void check(ModelFiles files) {
        byte[][] spm = new byte[2][];
        Path[] names = {files.sourceSpm(), files.targetSpm()};
        Map<String, Integer> vocab;
        Map<String, Integer> targetVocab;
        try {
            for (int i = 0; i < 2; i++) {
                spm[i] = ModelFiles.readRequired(names[i]);
            }
            vocab = ModelFiles.readVocab(files.sourceVocab());
            targetVocab = files.separateVocabs() ? ModelFiles.readVocab(files.targetVocab()) : vocab;
        } catch (IOException e) {
            throw new ModelFormatException(files.dir() + ": " + e.getMessage(), e);
        }
        for (int i = 0; i < 2; i++) {
            try {
                new SpTokenizer(spm[i]).close();
            } catch (RuntimeException e) {
                throw new ModelFormatException(names[i] + ": not a SentencePiece model (" + e + ")", e);
            }
        }
        try {
            new MarianTokenizer(spm[0], spm[1], vocab, targetVocab).close();
        } catch (RuntimeException e) {
            throw new ModelFormatException(files.sourceVocab() + ": " + e.getMessage(), e);
        }
    }

    /** Loads the tokenizer files of a model directory (their names: {@link ModelFiles}). */
    public static MarianTokenizer load(Path modelDir) throws IOException {
        ModelFiles files = ModelFiles.of(modelDir);
        Map<String, Integer> vocab = ModelFiles.readVocab(files.sourceVocab());
        Map<String, Integer> targetVocab = files.separateVocabs() ? ModelFiles.readVocab(files.targetVocab()) : vocab;
        return new MarianTokenizer(ModelFiles.readRequired(files.sourceSpm()), ModelFiles.readRequired(files.targetSpm()),
                vocab, targetVocab);
    }

    private static int required(Map<String, Integer> vocab, String token, String name) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException(name + " has no " + token + " token");
        }
        return id;
    }

    /** Whether the source vocabulary holds this piece (e.g. a {@code >>xx<<} language code). */
    public boolean hasSourcePiece(String piece) {
        return sourceVocab.containsKey(piece);
    }

    public int eosId() {
        return eosId;
    }

    public int unkId() {
        return unkId;
    }

    /**
     * The source pieces of a sentence, before id mapping. The literal text of the special tokens
     * ({@code </s>}, {@code <unk>}, {@code <pad>}, when in the source vocabulary) is cut out first,
     * leftmost match first, each becoming its own piece, as transformers' PreTrainedTokenizer does
     * for added tokens; each stretch of text between them is tokenized on its own (empty ones
     * skipped): a leading language code kept as one piece, every code removed, SentencePiece.
     */
    public List<String> pieces(String text) {
        return pieces(text, true);
    }

    /** {@code codes}: whether the language-code rule applies to the text between special tokens. */
    private List<String> pieces(String text, boolean codes) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = text.indexOf('<');
        while (i >= 0 && i < text.length()) {
            String hit = null;
            for (String sp : splitTokens) {
                if (text.startsWith(sp, i) && (hit == null || sp.length() > hit.length())) {
                    hit = sp;
                }
            }
            if (hit == null) {
                i = text.indexOf('<', i + 1);
                continue;
            }
            chunkPieces(text.substring(start, i), out, codes);
            out.add(hit);
            start = i + hit.length();
            i = text.indexOf('<', start);
        }
        chunkPieces(text.substring(start), out, codes);
        return out;
    }

    private void chunkPieces(String text, List<String> out, boolean codes) {
        if (text.isEmpty()) {
            return;
        }
        if (!codes) {
            out.addAll(source.tokenize(text));
            return;
        }
        Matcher m = LANGUAGE_CODE.matcher(text);
        if (m.lookingAt()) {
            out.add(m.group());
        }
        String rest = LANGUAGE_CODE.matcher(text).replaceAll("");
        if (!rest.isEmpty()) {
            out.addAll(source.tokenize(rest));
        }
    }

    /**
     * Source ids of {@code >>code<<} followed by {@code text}, {@code </s>} appended: the code is
     * one token and the text goes through SentencePiece whole. Unlike {@code encode(">>de<< " +
     * text)}, a text holding {@code <<} or {@code >>} cannot swallow part of itself into the code
     * (transformers' greedy {@code >>.+<<} would make {@code ">>de<< a << b"} one unknown token
     * and drop the rest).
     *
     * @throws IllegalArgumentException when {@code >>code<<} is not in the source vocabulary
     */
    public int[] encode(String code, String text) {
        Integer codeId = sourceVocab.get(">>" + code + "<<");
        if (codeId == null) {
            throw new IllegalArgumentException("language code >>" + code + "<< is not in the source vocabulary");
        }
        List<String> pieces = pieces(text, false); // literal special tokens still split out
        int[] ids = new int[pieces.size() + 2];
        ids[0] = codeId;
        for (int i = 0; i < pieces.size(); i++) {
            ids[i + 1] = sourceVocab.getOrDefault(pieces.get(i), unkId);
        }
        ids[pieces.size() + 1] = eosId;
        return ids;
    }

    /** Source ids of a sentence, {@code </s>} appended. */
    public int[] encode(String text) {
        List<String> pieces = pieces(text);
        int[] ids = new int[pieces.size() + 1];
        for (int i = 0; i < pieces.size(); i++) {
            ids[i] = sourceVocab.getOrDefault(pieces.get(i), unkId);
        }
        ids[pieces.size()] = eosId;
        return ids;
    }

    /**
     * Text of target ids with special tokens skipped. An id outside the vocabulary reads as
     * {@code <unk>} (as transformers does) and is skipped with the specials.
     */
    public String decode(int[] ids) {
        List<String> pieces = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= targetPieces.length || targetPieces[id] == null) {
                continue;
            }
            if (!special[id]) {
                pieces.add(targetPieces[id]);
            }
        }
        String text = pieces.isEmpty() ? "" : target.buildSentence(pieces);
        return pythonStrip(text.replace(SPIECE_UNDERLINE, ' '));
    }

    /**
     * Target ids of a reference translation: the target SentencePiece model, then the target
     * vocabulary (an unknown piece as {@code <unk>}, or left out when the target side has none);
     * no {@code </s>}. For tools that count target tokens (the shortlist builder), not for decoding.
     */
    public int[] encodeTarget(String text) {
        Integer unk = targetVocab.get("<unk>");
        return target.tokenize(text).stream().map(p -> targetVocab.getOrDefault(p, unk)).filter(java.util.Objects::nonNull)
                .mapToInt(Integer::intValue).toArray();
    }

    /** A source id's piece, or null when the source vocabulary has no such id. */
    public String sourcePiece(int id) {
        return sourcePieces().get(id);
    }

    private volatile Map<Integer, String> sourcePiecesById;

    private Map<Integer, String> sourcePieces() {
        Map<Integer, String> m = sourcePiecesById;
        if (m == null) {
            java.util.HashMap<Integer, String> inv = new java.util.HashMap<>();
            sourceVocab.forEach((piece, id) -> inv.putIfAbsent(id, piece));
            sourcePiecesById = m = inv;
        }
        return m;
    }

    /** A target id's piece, or null when the target vocabulary has no such id. */
    public String targetPiece(int id) {
        return id >= 0 && id < targetPieces.length ? targetPieces[id] : null;
    }

    /** The target pieces of ids, for debugging and n-best output. */
    public List<String> targetPieces(int[] ids) {
        return Arrays.stream(ids).mapToObj(i -> targetPieces[i]).toList();
    }

    /** Python's str.strip(): strips what str.isspace() calls whitespace. */
    static String pythonStrip(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isPythonSpace(s.charAt(b))) {
            b++;
        }
        while (e > b && isPythonSpace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(b, e);
    }

    private static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085' || (c >= 0x1c && c <= 0x1f);
    }

    @Override
    public void close() {
        source.close();
        target.close();
    }
}
