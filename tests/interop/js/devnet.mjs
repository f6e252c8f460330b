// Shared by the interop scripts: the devnet's control calls (devnet/*), by JSON-RPC over HTTP POST,
// and the one report each script prints as its last stdout line.
export const config = JSON.parse(process.argv[2] ?? "{}");

export async function devnet(method, params = {}) {
  const answer = await fetch(`http://127.0.0.1:${config.port}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method, params, id: null }),
  });
  const reply = await answer.json();
  if (reply.error) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(what, check, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export function report(value) {
  console.log(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
}

export function main(run) {
  run().then(
    () => process.exit(0),
    (error) => {
      console.error(error?.stack ?? error);
      process.exit(1);
    },
  );
}
