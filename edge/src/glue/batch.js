// The storage object's statements run in JavaScript: a batch (or a call's batches) crosses from
// WebAssembly once, as JSON text, and its rows come back once, as JSON text. Run statement by
// statement from Rust, every argument, `exec`, `toArray` and `push` was a crossing of its own: a
// submission crossed between JS and wasm 532 times, now 213 (`cargo xtask bench edge`).
// (`glue::storage` and `glue::object` call these; `group` writes the call.)

// Integers are read as JavaScript numbers, exact to 2^53 (the runtime's SQL binds no BigInt; a
// bound such as i64::MAX is bound as the nearest number, as workers-rs bound it).

// One batch (statements `[{sql, args}]`) in one transaction: each statement's rows, in order.
// A failure undoes the batch's statements (a savepoint) and is thrown.
function batch(storage, stmts) {
  const sql = storage.sql;
  return storage.transactionSync(() => stmts.map((s) => sql.exec(s.sql, ...s.args).toArray()));
}

// A batch as JSON text: its statements' rows as JSON text (`[[row, …], …]`), or thrown.
export function runBatch(storage, text) {
  return JSON.stringify(batch(storage, JSON.parse(text)));
}

// A call (`{wake, batches}`, `group::call_json`): each batch in its own transaction, its answer
// `{rows}` or `{error}` (the error's words, SQLite's for a constraint), as JSON text.
export function runCall(storage, text) {
  const call = JSON.parse(text);
  if (!call || !Array.isArray(call.batches)) throw new Error("not a call: no batches");
  return JSON.stringify(
    call.batches.map((stmts) => {
      try {
        return { rows: batch(storage, stmts) };
      } catch (e) {
        return { error: String(e && e.message !== undefined ? e.message : e) };
      }
    }),
  );
}
