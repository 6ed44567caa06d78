"""The latency CDF chart of the benchmark report, as SVG."""
import math


def svg_cdf(curves, path):
    """curves: (label, color, dashed, sorted samples in µs). Log-scale x, fraction on y."""
    W, H, L, R, T, B = 760, 440, 70, 190, 30, 50
    lo = min(c[3][0] for c in curves)
    hi = max(c[3][-1] for c in curves)
    x0 = 10 ** math.floor(math.log10(max(lo, 1)))
    x1 = 10 ** math.ceil(math.log10(hi))
    pw, ph = W - L - R, H - T - B

    def X(v):
        return L + pw * (math.log10(max(v, x0)) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))

    def Y(p):
        return T + ph * (1 - p)
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="18" font-size="14">Latency CDF: Score vs the no-op floor vs the Python '
         'peer (closed loop)</text>' % L]
    d = x0
    while d <= x1 * 1.0001:
        for k in range(1, 10):
            v = d * k
            if v > x1 * 1.0001:
                break
            x = X(v)
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' %
                     (x, T, x, T + ph, "#bbb" if k == 1 else "#eee"))
            if k == 1:
                label = "%g µs" % v if v < 1000 else "%g ms" % (v / 1000)
                o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                         (x, T + ph + 16, label))
        d *= 10
    for p in (0, 0.25, 0.5, 0.75, 0.9, 0.99, 1):
        y = Y(p)
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (L, y, L + pw, y))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (L - 6, y + 4, p))
    o.append('<text x="%d" y="%d" text-anchor="middle">latency (log scale)</text>' %
             (L + pw / 2, H - 12))
    o.append('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">fraction '
             'of calls at or below</text>' % (T + ph / 2, T + ph / 2))
    for i, (label, color, dashed, v) in enumerate(curves):
        n = len(v)
        pts = []
        step = max(1, n // 600)
        idx = list(range(0, n, step))
        idx += [i2 for i2 in range(max(0, n - 2 * step), n)]  # keep the tail exact
        for j in sorted(set(idx)):
            pts.append("%.1f,%.1f" % (X(v[j]), Y((j + 1) / n)))
        o.append('<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="%s"/>' %
                 (color, ' stroke-dasharray="5,3"' if dashed else "", " ".join(pts)))
        ly = T + 14 + 18 * i
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' %
                 (L + pw + 12, ly, L + pw + 36, ly, color,
                  ' stroke-dasharray="5,3"' if dashed else ""))
        o.append('<text x="%d" y="%d">%s</text>' % (L + pw + 42, ly + 4, label))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
