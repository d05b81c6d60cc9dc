package io.sparknmt.io;

/** What counts as no text at all: the rule behind status {@code empty}. */
public final class TextChecks {
    private TextChecks() {
    }

    /**
     * True when {@code s} has nothing to translate: it is empty, or every code point is
     * whitespace of any kind (Unicode separators Zs/Zl/Zp, Java whitespace), a control character
     * (Cc), a format character (Cf: zero-width space and joiners, U+FEFF, U+2060, bidi marks,
     * soft hyphen, ...), a variation selector or another default-ignorable code point (U+034F,
     * U+115F, U+1160, U+17B4, U+17B5, U+180B-U+180F, U+3164, U+FE00-U+FE0F, U+FFA0,
     * U+E0100-U+E01EF), or the braille blank U+2800.
     */
    public static boolean invisibleOnly(String s) {
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (!invisible(cp)) {
                return false;
            }
            i += Character.charCount(cp);
        }
        return true;
    }

    static boolean invisible(int cp) {
        if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
            return true;
        }
        int t = Character.getType(cp);
        if (t == Character.CONTROL || t == Character.FORMAT) {
            return true;
        }
        return cp == 0x034F || cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5
                || (cp >= 0x180B && cp <= 0x180F) || cp == 0x2800 || cp == 0x3164 || (cp >= 0xFE00 && cp <= 0xFE0F)
                || cp == 0xFFA0 || (cp >= 0xE0100 && cp <= 0xE01EF);
    }

    /** The message of an {@link #invisibleOnly} input. */
    public static String emptyReason(String s) {
        return s.isEmpty() ? "input is empty" : s.isBlank() ? "input is whitespace only"
                : "input has only invisible characters (whitespace, control, format or other default-ignorable code points)";
    }
}
