"""A tiny dependency-free PNG chart writer for bench/report.py: grouped bar panels with a
built-in 5x7 bitmap font (upper-case letters, digits, a little punctuation). No matplotlib."""
import struct
import zlib

# 5x7 glyphs, one string of 5 bits per row
_FONT = {
    " ": ["00000"] * 7,
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "B": ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "D": ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
    "G": ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "Q": ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "V": ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
    "W": ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "Y": ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
    "Z": ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
    "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
    ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
    ",": ["00000", "00000", "00000", "00000", "01100", "00100", "01000"],
    ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
    "/": ["00001", "00010", "00010", "00100", "01000", "01000", "10000"],
    "(": ["00010", "00100", "01000", "01000", "01000", "00100", "00010"],
    ")": ["01000", "00100", "00010", "00010", "00010", "00100", "01000"],
    "=": ["00000", "00000", "11111", "00000", "11111", "00000", "00000"],
    "%": ["11001", "11010", "00010", "00100", "01000", "01011", "10011"],
    "+": ["00000", "00100", "00100", "11111", "00100", "00100", "00000"],
    "X_": ["00000"] * 7,
}


class Canvas:
    def __init__(self, w, h, bg=(255, 255, 255)):
        self.w, self.h = w, h
        self.px = bytearray(bytes(bg) * (w * h))

    def rect(self, x0, y0, x1, y1, rgb):
        x0, x1 = max(0, int(x0)), min(self.w, int(x1))
        y0, y1 = max(0, int(y0)), min(self.h, int(y1))
        if x1 <= x0:
            return
        row = bytes(rgb) * (x1 - x0)
        for y in range(y0, y1):
            o = (y * self.w + x0) * 3
            self.px[o:o + len(row)] = row

    def hline(self, x0, x1, y, rgb, t=1):
        self.rect(x0, y, x1, y + t, rgb)

    def vline(self, x, y0, y1, rgb, t=1):
        self.rect(x, y0, x + t, y1, rgb)

    def text(self, x, y, s, rgb=(0, 0, 0), scale=2):
        """Top-left anchored; lower-case is drawn as upper-case."""
        for ch in s.upper():
            g = _FONT.get(ch, _FONT[" "])
            for r, bits in enumerate(g):
                for c, b in enumerate(bits):
                    if b == "1":
                        self.rect(x + c * scale, y + r * scale, x + (c + 1) * scale, y + (r + 1) * scale, rgb)
            x += 6 * scale

    @staticmethod
    def text_width(s, scale=2):
        return len(s) * 6 * scale - scale

    def save(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(tag, data):
            return (struct.pack(">I", len(data)) + tag + data
                    + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

        png = (b"\x89PNG\r\n\x1a\n"
               + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
        with open(path, "wb") as f:
            f.write(png)


def _nice_axis(v, ticks=4):
    """(axis max, step): a step of 1, 2, 2.5 or 5 x 10^e so that `ticks` steps cover v."""
    import math
    if v <= 0:
        return 1.0, 0.25
    raw = v / ticks
    e = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= raw:
            step = m * e
            break
    return step * math.ceil(v / step - 1e-9), step


def _fmt(v):
    if v >= 10000:
        return f"{v / 1000:.0f}K"
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def grouped_bars(path, title, panels, series, colors, cols=2):
    """panels: [(panel title, [group labels], {series name: [value or None per group]})]."""
    pw, ph = 620, 380
    rows = (len(panels) + cols - 1) // cols
    legend_h = 40
    W, H = pw * cols, 50 + legend_h + ph * rows
    c = Canvas(W, H)
    c.text((W - c.text_width(title, 3)) // 2, 12, title, scale=3)
    # legend
    x = 30
    for name, col in zip(series, colors):
        c.rect(x, 58, x + 18, 72, col)
        c.text(x + 26, 58, name)
        x += 26 + c.text_width(name) + 34
    for i, (ptitle, groups, values) in enumerate(panels):
        ox, oy = (i % cols) * pw, 50 + legend_h + (i // cols) * ph
        c.text(ox + (pw - c.text_width(ptitle)) // 2, oy + 8, ptitle)
        left, right, top, bottom = ox + 70, ox + pw - 20, oy + 34, oy + ph - 46
        vmax, step = _nice_axis(max([v for s in series for v in values.get(s, []) if v] + [1]))
        nt = int(round(vmax / step))
        for k in range(nt + 1):
            y = bottom - (bottom - top) * k / nt
            c.hline(left, right, int(y), (230, 230, 230) if k else (0, 0, 0))
            lab = _fmt(step * k)
            c.text(left - 8 - c.text_width(lab), int(y) - 7, lab)
        c.vline(left, top, bottom + 1, (0, 0, 0))
        ng, ns = len(groups), len(series)
        gw = (right - left) / max(ng, 1)
        bw = gw * 0.8 / ns
        for g, glab in enumerate(groups):
            gx = left + g * gw + gw * 0.1
            for s, (name, col) in enumerate(zip(series, colors)):
                vals = values.get(name, [])
                v = vals[g] if g < len(vals) else None
                if v is None:
                    continue
                h = (bottom - top) * min(v, vmax) / vmax
                c.rect(gx + s * bw + 1, bottom - h, gx + (s + 1) * bw - 1, bottom, col)
            c.text(int(left + g * gw + (gw - c.text_width(glab)) / 2), bottom + 8, glab)
            for s, (name, col) in enumerate(zip(series, colors)):   # value above each bar
                vals = values.get(name, [])
                v = vals[g] if g < len(vals) else None
                if v is None or bw < 24:
                    continue
                lab = f"{v:.0f}" if v >= 100 else f"{v:.1f}"
                sc = 1 if c.text_width(lab, 2) > bw else 2
                h = (bottom - top) * min(v, vmax) / vmax
                c.text(int(gx + s * bw + (bw - c.text_width(lab, sc)) / 2), int(bottom - h - 7 * sc - 3), lab,
                       (60, 60, 60), sc)
        xl = "BATCH SIZE (SENTENCES)"
        c.text(ox + (pw - c.text_width(xl)) // 2, bottom + 26, xl, (90, 90, 90))
    c.save(path)
