// A hall's queue system, as an integrator writes one against the documented contract (README,
// "一事一评 links"): when a 办件 is closed it mints the case's rating link and prints its QR.
// usage: node e2e/queue.mjs <base> <token> <code> <matter> <project_no> [lifetime_days]
// Prints the answer's JSON with the HTTP status and the PNG's size; exits non-zero on a refusal.
const [base, token, code, matter, projectNo, days] = process.argv.slice(2);
const body = { code, matter, project_no: projectNo };
if (days) body.lifetime_days = Number(days);
const res = await fetch(`${base}/api/v1/links`, {
  method: "POST",
  headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
  body: JSON.stringify(body),
});
const answer = await res.json();
answer.status = res.status;
if (res.ok) {
  // The ticket printer takes the PNG.
  const png = await fetch(answer.qr_png);
  const bytes = new Uint8Array(await png.arrayBuffer());
  answer.png_status = png.status;
  answer.png_bytes = bytes.length;
  answer.png_signature = Buffer.from(bytes.slice(1, 4)).toString();
}
console.log(JSON.stringify(answer));
process.exitCode = res.ok ? 0 : 1;
