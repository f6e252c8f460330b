// Blaze (@blaze-cardano/sdk) through its Kupmios provider: Kupo's API from the devnet (under /kupo on the
// Ogmios port) and the devnet's Ogmios (@blaze-cardano/ogmios). Each step builds with Blaze's defaults
// (coin selection, fees, and the provider's evaluateTransaction for scripts), signs with Blaze's
// HotSingleWallet, submits, and waits for Kupo to show the outputs. The Python test checks the chain.
import { Blaze, Core, HotSingleWallet, Kupmios } from "@blaze-cardano/sdk";
import { Unwrapped } from "@blaze-cardano/ogmios";
import { config, main, report, until } from "./devnet.mjs";

const kupoUrl = `http://127.0.0.1:${config.port}/kupo`;
const { PlutusData } = Core;

async function confirmed(txId) {
  await until(`${txId} on chain`, async () => {
    const matches = await (await fetch(`${kupoUrl}/matches/*@${txId}`)).json();
    return matches.length > 0;
  });
  return txId;
}

function plutusV3(hex) {
  return Core.Script.newPlutusV3Script(new Core.PlutusV3Script(Core.HexBlob(hex)));
}

main(async () => {
  const out = { steps: {} };
  const ogmios = await Unwrapped.Ogmios.new(`ws://127.0.0.1:${config.port}`);
  const provider = new Kupmios(kupoUrl, ogmios);
  const wallet = new HotSingleWallet(
    Core.Ed25519PrivateNormalKeyHex(config.keys.payment),
    Core.NetworkId.Testnet,
    provider,
    Core.Ed25519PrivateNormalKeyHex(config.keys.stake),
  );
  const blaze = await Blaze.from(provider, wallet);
  out.address = wallet.address.toBech32();
  const send = async (name, builder) => {
    const tx = await builder.complete();
    const signed = await blaze.signTransaction(tx);
    const id = await blaze.submitTransaction(signed);
    out.steps[name] = await confirmed(id);
    return signed;
  };

  // config.staking: only the staking steps (a second run on the shared devnet), else the others.
  if (!config.staking) {
    // A payment.
    await send("payment", blaze.newTransaction().payLovelace(Core.Address.fromBech32(config.bob), 5_000_000n));

    // A native-script mint, then its burn, each with metadata (label 674).
    const native = Core.NativeScripts.justAddress(out.address, Core.NetworkId.Testnet);
    const nativePolicy = Core.PolicyId(native.hash());
    const name = Core.AssetName("696e7465726f70"); // "interop"
    const metadata = (text) => new Core.Metadata(new Map([[674n, Core.Metadatum.newText(text)]]));
    await send(
      "nativeMint",
      blaze.newTransaction()
        .addMint(nativePolicy, new Map([[name, 100n]]))
        .provideScript(Core.Script.newNativeScript(native))
        .setMetadata(metadata("minted by blaze")),
    );
    await send(
      "nativeBurn",
      blaze.newTransaction()
        .addMint(nativePolicy, new Map([[name, -60n]]))
        .provideScript(Core.Script.newNativeScript(native))
        .setMetadata(metadata("burnt by blaze")),
    );
    out.nativePolicy = nativePolicy;

    // Plutus V3: lock at a spending validator (redeemer must be 42), with its script deployed as a
    // reference script in the same transaction; then spend through the reference script.
    const spend = plutusV3(config.scripts.spend.cbor);
    out.spendHash = spend.hash();
    const spendAddress = Core.addressFromValidator(Core.NetworkId.Testnet, spend);
    await send(
      "lock",
      blaze.newTransaction()
        .lockLovelace(spendAddress, 10_000_000n, PlutusData.newInteger(7n))
        .deployScript(spend),
    );
    const [locked] = await provider.getUnspentOutputs(spendAddress);
    const refs = await provider.getUnspentOutputs(Core.getBurnAddress(Core.NetworkId.Testnet));
    const reference = refs.find((u) => u.output().scriptRef()?.hash() === spend.hash());
    if (!locked || !reference) throw new Error("Kupo did not show the locked output and the reference script");
    out.lockedDatum = locked.output().datum()?.asInlineData()?.toCbor();
    try {
      await blaze.newTransaction().addInput(locked, PlutusData.newInteger(41n)).addReferenceInput(reference).complete();
      out.wrongRedeemer = "accepted";
    } catch (error) {
      out.wrongRedeemer = String(error?.message ?? error).slice(0, 300);
    }
    await send(
      "spend",
      blaze.newTransaction().addInput(locked, PlutusData.newInteger(42n)).addReferenceInput(reference),
    );

    // A Plutus V3 mint (redeemer must be 43), the script in the witness set.
    const mint = plutusV3(config.scripts.mint.cbor);
    out.mintHash = mint.hash();
    await send(
      "plutusMint",
      blaze.newTransaction()
        .addMint(Core.PolicyId(mint.hash()), new Map([[name, 1n]]), PlutusData.newInteger(43n))
        .provideScript(mint),
    );
  }

  if (config.staking) {
    // Stake registration of the wallet's stake key, then a withdraw-zero validator (redeemer 44):
    // register the script's stake credential, then withdraw 0 so that the validator runs once.
    const stakeHash = Core.Hash28ByteBase16(config.keys.stakeHash);
    await send(
      "stakeRegistration",
      blaze.newTransaction().addRegisterStake(Core.Credential.fromCore({ type: Core.CredentialType.KeyHash, hash: stakeHash })),
    );
    const withdraw = plutusV3(config.scripts.withdraw.cbor);
    const scriptCredential = Core.Credential.fromCore({ type: Core.CredentialType.ScriptHash, hash: withdraw.hash() });
    await send("scriptRegistration", blaze.newTransaction().addRegisterStake(scriptCredential));
    const rewardAccount = Core.RewardAccount.fromCredential(scriptCredential.toCore(), Core.NetworkId.Testnet);
    await send(
      "withdrawZero",
      blaze.newTransaction().addWithdrawal(rewardAccount, 0n, PlutusData.newInteger(44n)).provideScript(withdraw),
    );
    out.withdrawHash = withdraw.hash();
  }
  out.balance = (await wallet.getBalance()).toCore();
  report(out);
});
