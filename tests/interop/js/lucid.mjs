// Lucid Evolution (@lucid-evolution/lucid) through its Kupmios provider, unmodified: Kupo's API from
// the devnet (under /kupo on the Ogmios port) and the devnet's Ogmios by JSON-RPC over HTTP POST.
// Steps: a payment; a native mint with metadata; look-ups by unit, by output reference, datum by hash
// and reference scripts (each a Kupo endpoint); a Plutus V3 spend of an inline-datum and a
// datum-hash output through a reference script, evaluated by the provider (Ogmios); a V3 mint
// evaluated by Lucid's own local evaluator. The Python test checks the chain.
import {
  Constr,
  Data,
  Kupmios,
  Lucid,
  mintingPolicyToId,
  paymentCredentialOf,
  scriptFromNative,
  validatorToAddress,
  validatorToRewardAddress,
} from "@lucid-evolution/lucid";
import { config, main, report } from "./devnet.mjs";

main(async () => {
  const out = { steps: {} };
  const provider = new Kupmios(`http://127.0.0.1:${config.port}/kupo`, `http://127.0.0.1:${config.port}`);
  const lucid = await Lucid(provider, "Custom");
  lucid.selectWallet.fromPrivateKey(config.privateKey);
  const address = await lucid.wallet().address();
  out.address = address;
  const submit = async (name, builder, options) => {
    const tx = await builder.complete(options);
    const signed = await tx.sign.withWallet().complete();
    const id = await signed.submit();
    await lucid.awaitTx(id, 100);
    out.steps[name] = id;
    return id;
  };

  await submit("payment", lucid.newTx().pay.ToAddress(config.bob, { lovelace: 5_000_000n }));

  const native = scriptFromNative({ type: "sig", keyHash: paymentCredentialOf(address).hash });
  const policy = mintingPolicyToId(native);
  const unit = policy + "6c75636964"; // "lucid"
  await submit(
    "nativeMint",
    lucid.newTx().mintAssets({ [unit]: 10n }).attach.MintingPolicy(native).attachMetadata(674, { msg: ["lucid"] }),
  );
  out.policy = policy;
  const holder = await lucid.utxoByUnit(unit);
  out.byUnit = { txHash: holder.txHash, quantity: holder.assets[unit] };
  out.withUnit = (await lucid.utxosAtWithUnit(address, unit)).length;

  const spend = { type: "PlutusV3", script: config.scripts.spend.cbor };
  const mint = { type: "PlutusV3", script: config.scripts.mint.cbor };
  const scriptAddress = validatorToAddress("Custom", spend);
  out.scriptAddress = scriptAddress;
  await submit(
    "lock",
    lucid.newTx()
      .pay.ToContract(scriptAddress, { kind: "inline", value: Data.to(7n) }, { lovelace: 10_000_000n })
      .pay.ToContract(scriptAddress, { kind: "asHash", value: Data.to(8n) }, { lovelace: 11_000_000n })
      .pay.ToContract(scriptAddress, { kind: "inline", value: Data.to(9n) }, { lovelace: 20_000_000n }, spend),
  );
  const atScript = await lucid.utxosAt(scriptAddress);
  out.atScript = atScript.map((u) => ({
    lovelace: u.assets.lovelace,
    datum: u.datum ?? null,
    datumHash: u.datumHash ?? null,
    scriptRef: u.scriptRef ? u.scriptRef.type : null,
  }));
  const reference = atScript.find((u) => u.scriptRef);
  const inline = atScript.find((u) => u.assets.lovelace === 10_000_000n);
  const hashed = atScript.find((u) => u.assets.lovelace === 11_000_000n);
  out.datumOf = String(await lucid.datumOf(hashed)); // fetched from Kupo's /datums by its hash
  const [again] = await lucid.utxosByOutRef([{ txHash: reference.txHash, outputIndex: reference.outputIndex }]);
  out.byOutRef = again.scriptRef?.script === reference.scriptRef?.script;

  const redeemer = Data.to(42n);
  await submit(
    "spend",
    lucid.newTx().collectFrom([inline, hashed], redeemer).readFrom([reference]).addSigner(address),
    { localUPLCEval: false }, // evaluated by the provider: the devnet's evaluateTransaction over HTTP
  );
  await submit(
    "plutusMint",
    lucid.newTx().mintAssets({ [mintingPolicyToId(mint) + "6c75636964"]: 1n }, Data.to(43n)).attach.MintingPolicy(mint),
  ); // evaluated by Lucid's own (local) UPLC evaluator, its budget then checked by the devnet
  out.mintPolicy = mintingPolicyToId(mint);

  // A withdraw-zero validator (redeemer 44): register its stake credential, then withdraw 0 so that
  // it runs once, evaluated by the devnet; then the reward account through Lucid's delegationAt.
  const withdraw = { type: "PlutusV3", script: config.scripts.withdraw.cbor };
  const rewardAddress = validatorToRewardAddress("Custom", withdraw);
  out.rewardAddress = rewardAddress;
  await submit("scriptRegistration", lucid.newTx().register.Stake(rewardAddress));
  await submit(
    "withdrawZero",
    lucid.newTx().withdraw(rewardAddress, 0n, Data.to(44n)).attach.WithdrawalValidator(withdraw),
    { localUPLCEval: false },
  );
  out.delegation = await lucid.delegationAt(rewardAddress);
  out.constr = Data.to(new Constr(0, [])); // the Data encoding Lucid uses, for the record
  report(out);
});
