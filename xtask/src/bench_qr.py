# The peer in `cargo xtask bench qr-gen`: Python segno writing one PNG per URL, same scale and
# border as qr-gen's PNGs. Prints the seconds taken.
import sys, time, os, csv
import segno

manifest, out = sys.argv[1], sys.argv[2]
with open(manifest, encoding="utf-8-sig") as f:
    urls = [(r["code"], r["url"]) for r in csv.DictReader(f)]
os.makedirs(out, exist_ok=True)
t = time.perf_counter()
for code, url in urls:
    segno.make(url, error="m", micro=False, boost_error=False).save(os.path.join(out, code + ".png"), scale=10, border=4)
print(f"{time.perf_counter() - t:.3f}")
