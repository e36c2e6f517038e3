/**
 * Noise SymmetricState (noiseprotocol.org/noise.html rev 34, §5.2) and the hash-function
 * interface it runs on (§4.3): the chaining key ck, the handshake hash h, and a CipherState.
 */
import { CipherState, NOISE_KEY_LEN, type NoiseAead } from "./cipher-state";
import { concatBytes, wipe } from "./validate";

/** A Noise hash function (§4.3): HASH() and the HMAC built on it. HASHLEN is 32 or 64. */
export interface NoiseHash {
  /** Name in the protocol name, e.g. "SHA256" or "BLAKE2s" (§12.5, §12.7). */
  readonly name: string;
  /** HASHLEN in bytes. */
  readonly hashLen: 32 | 64;
  hash(data: Uint8Array): Uint8Array;
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/** SymmetricState (§5.2): chaining key ck, handshake hash h, and a CipherState. */
export class SymmetricState {
  readonly #hash: NoiseHash;
  readonly #aead: NoiseAead;
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher: CipherState;

  /** InitializeSymmetric(protocol_name). */
  constructor(protocolName: string, hash: NoiseHash, aead: NoiseAead) {
    this.#hash = hash;
    this.#aead = aead;
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= hash.hashLen) {
      this.#h = new Uint8Array(hash.hashLen);
      this.#h.set(name);
    } else {
      this.#h = hash.hash(name);
    }
    this.#ck = this.#h.slice();
    this.#cipher = new CipherState(aead);
  }

  /** HKDF(chaining_key, input_key_material, 2) of §4.3. */
  #hkdf2(ikm: Uint8Array): [Uint8Array, Uint8Array] {
    const temp = this.#hash.hmac(this.#ck, ikm);
    const out1 = this.#hash.hmac(temp, Uint8Array.of(1));
    const out2 = this.#hash.hmac(temp, concatBytes(out1, Uint8Array.of(2)));
    wipe(temp);
    return [out1, out2];
  }

  /** MixKey(input_key_material). */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = this.#hkdf2(ikm);
    wipe(this.#ck);
    this.#ck = ck;
    this.#cipher.initializeKey(tempK.subarray(0, NOISE_KEY_LEN));
    wipe(tempK);
  }

  /** MixHash(data). */
  mixHash(data: Uint8Array): void {
    this.#h = this.#hash.hash(concatBytes(this.#h, data));
  }

  /** GetHandshakeHash(): a copy of h. */
  getHandshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /** Whether the CipherState has a key (decides the length of an encrypted static key). */
  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): two CipherStates, c1 for initiator→responder, c2 for responder→initiator. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.#hkdf2(new Uint8Array(0));
    const c1 = new CipherState(this.#aead);
    const c2 = new CipherState(this.#aead);
    c1.initializeKey(k1.subarray(0, NOISE_KEY_LEN));
    c2.initializeKey(k2.subarray(0, NOISE_KEY_LEN));
    wipe(k1, k2);
    return [c1, c2];
  }

  /** Wipes ck and the handshake CipherState; h (public) stays readable. */
  wipe(): void {
    wipe(this.#ck);
    this.#cipher.wipe();
  }
}
