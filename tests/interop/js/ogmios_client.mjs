// The official @cardano-ogmios/client against the devnet: every ledger-state query it exposes, chain
// sync from the origin and from the tip across a rollback, evaluate, submit and mempool monitoring.
// Transactions come ready-signed from the Python test (config.evaluate, config.submit).
import {
  createChainSynchronizationClient,
  createInteractionContext,
  createLedgerStateQueryClient,
  createMempoolMonitoringClient,
  createTransactionSubmissionClient,
  getServerHealth,
} from "@cardano-ogmios/client";
import { config, devnet, main, report, sleep, until } from "./devnet.mjs";

const connection = { host: "127.0.0.1", port: config.port };
const context = () => createInteractionContext(
  (error) => { throw error; },
  () => {},
  { connection },
);

main(async () => {
  const out = {};
  out.health = (await getServerHealth({ connection: { address: { http: `http://127.0.0.1:${config.port}`, webSocket: `ws://127.0.0.1:${config.port}` } } })).version;

  // --- every ledger-state query of the client -------------------------------------------------------
  const query = await createLedgerStateQueryClient(await context());
  const q = {};
  q.constitution = await query.constitution();
  q.epoch = await query.epoch();
  q.eraStart = await query.eraStart();
  q.eraSummaries = await query.eraSummaries();
  q.governanceProposals = await query.governanceProposals();
  for (const era of ["byron", "shelley", "alonzo", "conway"]) {
    q[`genesis_${era}`] = await query.genesisConfiguration(era);
  }
  q.ledgerTip = await query.ledgerTip();
  q.liveStakeDistribution = await query.liveStakeDistribution();
  q.networkBlockHeight = await query.networkBlockHeight();
  q.networkStartTime = await query.networkStartTime();
  q.networkTip = await query.networkTip();
  q.projectedRewards = await query.projectedRewards({ stake: [{ ada: { lovelace: 1000000000 } }] });
  q.protocolParameters = await query.protocolParameters();
  q.rewardAccountSummaries = await query.rewardAccountSummaries({ keys: [config.stakeKeyHash] });
  q.stakePools = await query.stakePools();
  q.stakePoolsPerformances = await query.stakePoolsPerformances();
  q.utxoByAddress = await query.utxo({ addresses: [config.address] });
  q.utxoByReference = await query.utxo({ outputReferences: [config.reference] });
  await query.acquireLedgerState(q.ledgerTip);
  q.acquiredTip = await query.ledgerTip();
  await query.releaseLedgerState();
  out.queries = q;

  // --- chain sync from the origin to the tip --------------------------------------------------------
  const fromOrigin = [];
  const originContext = await context();
  const tipAtStart = q.networkTip;
  await new Promise(async (resolve) => {
    const sync = await createChainSynchronizationClient(originContext, {
      rollForward: async ({ block }, next) => {
        fromOrigin.push({ id: block.id, height: block.height, slot: block.slot });
        if (block.id === tipAtStart.id) resolve();
        next();
      },
      rollBackward: async (_, next) => next(),
    });
    await sync.resume(["origin"], 10);
  });
  out.fromOrigin = fromOrigin;
  originContext.socket.close();

  // --- chain sync from the tip (started before the submission), across a rollback -------------------
  const events = [];
  let seen = null;
  const tipContext = await context();
  const sync = await createChainSynchronizationClient(tipContext, {
    rollForward: async ({ block }, next) => {
      const ids = (block.transactions ?? []).map((tx) => tx.id);
      events.push({ direction: "forward", id: block.id, slot: block.slot, height: block.height, transactions: ids });
      if (ids.includes(config.submitId)) seen = (seen ?? 0) + 1;
      next();
    },
    rollBackward: async ({ point }, next) => {
      events.push({ direction: "backward", point });
      next();
    },
  });
  out.intersection = await sync.resume(undefined, 5); // the client's own "from the tip"

  // --- evaluate, then submit watched by mempool monitoring ------------------------------------------
  const submission = await createTransactionSubmissionClient(await context());
  out.evaluation = await submission.evaluateTransaction(config.evaluate);
  const mempool = await createMempoolMonitoringClient(await context());
  await mempool.acquireMempool();
  // The second acquire waits for the mempool to change; sent before the submission, it sees the
  // transaction arrive even if a block takes it a slot (0.1 s) later.
  const changed = mempool.acquireMempool();
  await sleep(200);
  out.submitted = await submission.submitTransaction(config.submit);
  out.mempoolSlot = await changed;
  out.hasTransaction = await mempool.hasTransaction(out.submitted);
  out.sizeOfMempool = await mempool.sizeOfMempool();
  out.nextTransaction = await mempool.nextTransaction({ fields: "all" });
  out.afterLast = await mempool.nextTransaction();
  await mempool.releaseMempool();

  await until("the submitted transaction in a block", () => seen === 1);
  const holding = events.find((e) => e.direction === "forward" && e.transactions.includes(config.submitId));
  const height = await devnet("queryNetwork/blockHeight");
  out.rollback = await devnet("devnet/rollback", { blocks: height - holding.height + 1 });
  await until("the transaction again on the fork", () => seen === 2);
  out.events = events;
  report(out);
});
