package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The YAML subset Marian writes (yaml-cpp): one flat mapping per file, keys plain, 'single' or
 * "double" quoted (with YAML's escapes), values a scalar, a flow list {@code [a, b]} or a block
 * list of {@code - item} lines. Scalars stay strings, as transformers reads these files with
 * PyYAML's BaseLoader. Anything else (nesting, anchors, multi-line scalars, complex keys,
 * duplicate keys) is refused with the file and line, never guessed.
 */
final class MiniYaml {
    static final int MAX_BYTES = 64 * 1024 * 1024;

    private MiniYaml() {
    }

    /** Parses a mapping; values are String or List of String. */
    static Map<String, Object> parse(String text, String where) {
        if (text.length() > MAX_BYTES) {
            throw new ModelFormatException(where + ": YAML larger than " + MAX_BYTES + " characters");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        String openList = null;
        java.util.Set<String> block = new java.util.HashSet<>();
        for (int ln = 0; ln < lines.length; ln++) {
            String line = lines[ln];
            String at = where + " line " + (ln + 1);
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#") || t.equals("---") || t.equals("...")) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '-') {
                if (openList == null || !t.startsWith("- ") && !t.equals("-")) {
                    throw new ModelFormatException(at + ": nested YAML is not part of a Marian config or vocabulary");
                }
                @SuppressWarnings("unchecked")
                List<String> l = (List<String>) out.get(openList);
                Cursor c = new Cursor(t.substring(1).strip(), at);
                l.add(c.scalar(true));
                c.end();
                continue;
            }
            openList = null;
            Cursor c = new Cursor(line, at);
            String key = c.scalar(false);
            c.expect(':');
            c.spaces();
            if (out.containsKey(key)) {
                throw new ModelFormatException(at + ": key \"" + key + "\" appears twice");
            }
            if (c.done()) {
                out.put(key, new ArrayList<String>()); // a block list follows (or an empty value)
                openList = key;
                block.add(key);
                continue;
            }
            if (c.peek() == '[') {
                c.next();
                List<String> l = new ArrayList<>();
                c.spaces();
                if (c.peek() == ']') {
                    c.next();
                } else {
                    while (true) {
                        l.add(c.flowScalar());
                        c.spaces();
                        char ch = c.next();
                        if (ch == ']') {
                            break;
                        }
                        if (ch != ',') {
                            throw new ModelFormatException(at + ": malformed flow list");
                        }
                        c.spaces();
                    }
                }
                c.end();
                out.put(key, l);
            } else {
                out.put(key, c.scalar(true));
                c.end();
            }
        }
        // An empty block list means an empty value.
        out.replaceAll((k, v) -> block.contains(k) && ((List<?>) v).isEmpty() ? "" : v);
        return out;
    }

    private static final class Cursor {
        final String s;
        final String at;
        int i;

        Cursor(String s, String at) {
            this.s = s;
            this.at = at;
        }

        boolean done() {
            int j = i;
            while (j < s.length() && s.charAt(j) == ' ') {
                j++;
            }
            return j >= s.length() || s.charAt(j) == '#' && (j == 0 || s.charAt(j - 1) == ' ');
        }

        char peek() {
            return i < s.length() ? s.charAt(i) : '\0';
        }

        char next() {
            if (i >= s.length()) {
                throw new ModelFormatException(at + ": unexpected end of line");
            }
            return s.charAt(i++);
        }

        void spaces() {
            while (i < s.length() && s.charAt(i) == ' ') {
                i++;
            }
        }

        void expect(char c) {
            if (next() != c) {
                throw new ModelFormatException(at + ": expected '" + c + "'");
            }
        }

        void end() {
            if (!done()) {
                throw new ModelFormatException(at + ": unexpected text after the value: " + s.substring(i));
            }
        }

        /** A key (stops at ": ") or a value (to the end of the line, minus a comment). */
        String scalar(boolean value) {
            char c = peek();
            if (c == '"') {
                return doubleQuoted();
            }
            if (c == '\'') {
                return singleQuoted();
            }
            if (c == '?' && peek2() == ' ' || c == '&' || c == '*' || c == '!' || c == '|' || c == '>' || c == '{') {
                throw new ModelFormatException(at + ": YAML feature '" + c + "' is not part of a Marian config or vocabulary");
            }
            int start = i;
            while (i < s.length()) {
                char ch = s.charAt(i);
                if (!value && ch == ':' && (i + 1 == s.length() || s.charAt(i + 1) == ' ')) {
                    break;
                }
                if (ch == '#' && i > start && s.charAt(i - 1) == ' ') {
                    break;
                }
                i++;
            }
            String r = s.substring(start, i).strip();
            if (r.isEmpty() && !value) {
                throw new ModelFormatException(at + ": empty key");
            }
            return r;
        }

        private char peek2() {
            return i + 1 < s.length() ? s.charAt(i + 1) : '\0';
        }

        String flowScalar() {
            char c = peek();
            if (c == '"') {
                return doubleQuoted();
            }
            if (c == '\'') {
                return singleQuoted();
            }
            int start = i;
            while (i < s.length() && s.charAt(i) != ',' && s.charAt(i) != ']') {
                i++;
            }
            return s.substring(start, i).strip();
        }

        String singleQuoted() {
            next();
            StringBuilder b = new StringBuilder();
            while (true) {
                char ch = next();
                if (ch == '\'') {
                    if (peek() == '\'') {
                        next();
                        b.append('\'');
                    } else {
                        return b.toString();
                    }
                } else {
                    b.append(ch);
                }
            }
        }

        String doubleQuoted() {
            next();
            StringBuilder b = new StringBuilder();
            while (true) {
                char ch = next();
                if (ch == '"') {
                    return b.toString();
                }
                if (ch != '\\') {
                    b.append(ch);
                    continue;
                }
                char e = next();
                switch (e) {
                    case '0' -> b.append('\0');
                    case 'a' -> b.append('\u0007');
                    case 'b' -> b.append('\b');
                    case 't', '\t' -> b.append('\t');
                    case 'n' -> b.append('\n');
                    case 'v' -> b.append('\u000b');
                    case 'f' -> b.append('\f');
                    case 'r' -> b.append('\r');
                    case 'e' -> b.append('\u001b');
                    case ' ' -> b.append(' ');
                    case '"' -> b.append('"');
                    case '/' -> b.append('/');
                    case '\\' -> b.append('\\');
                    case 'N' -> b.append('\u0085');
                    case '_' -> b.append('\u00a0');
                    case 'L' -> b.append('\u2028');
                    case 'P' -> b.append('\u2029');
                    case 'x' -> b.appendCodePoint(hex(2));
                    case 'u' -> b.appendCodePoint(hex(4));
                    case 'U' -> b.appendCodePoint(hex(8));
                    default -> throw new ModelFormatException(at + ": unknown escape \\" + e);
                }
            }
        }

        private int hex(int n) {
            if (i + n > s.length()) {
                throw new ModelFormatException(at + ": truncated escape");
            }
            try {
                int cp = Integer.parseInt(s.substring(i, i + n), 16);
                i += n;
                if (!Character.isValidCodePoint(cp)) {
                    throw new NumberFormatException();
                }
                return cp;
            } catch (NumberFormatException ex) {
                throw new ModelFormatException(at + ": bad escape \\" + s.substring(i, Math.min(s.length(), i + n)));
            }
        }
    }
}
