/**
 * Known-answer vectors typed from the published texts (sources in README.md). Hex strings are
 * copied from the documents; byte ranges the documents write as "0x00..0x4f" are generated.
 */

const range = (from: number, to: number): string => {
  let s = "";
  for (let i = from; i <= to; i++) s += i.toString(16).padStart(2, "0");
  return s;
};
const repeat = (byte: string, n: number): string => byte.repeat(n);
const ascii = (text: string): string =>
  [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** RFC 9106 §5.3: Argon2id, version 0x13. */
export const ARGON2ID_RFC9106: {
  password: string;
  salt: string;
  secret: string;
  associatedData: string;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  tag: string;
} = {
  password: repeat("01", 32),
  salt: repeat("02", 16),
  secret: repeat("03", 8),
  associatedData: repeat("04", 12),
  memoryKiB: 32,
  iterations: 3,
  parallelism: 4,
  tag: "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
};

/** RFC 7748 §5.2: X25519 single multiplications. */
export const X25519_RFC7748_5_2: { scalar: string; u: string; out: string }[] = [
  {
    scalar: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
    u: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    out: "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
  },
  {
    scalar: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
    u: "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    out: "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
  },
];

/** RFC 7748 §5.2: iterated X25519 starting from k = u = 9. */
export const X25519_RFC7748_ITERATED: { start: string; after1: string; after1000: string } = {
  start: "0900000000000000000000000000000000000000000000000000000000000000",
  after1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
  after1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
};

/** RFC 7748 §6.1: Diffie-Hellman example. */
export const X25519_RFC7748_6_1: Record<
  "alicePrivate" | "alicePublic" | "bobPrivate" | "bobPublic" | "shared",
  string
> = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPrivate: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

/** RFC 8032 §7.1: Ed25519 TEST 1–3. */
export const ED25519_RFC8032: {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}[] = [
  {
    name: "TEST 1",
    secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

/** RFC 5869 Appendix A.1–A.3: HKDF-SHA256. */
export const HKDF_RFC5869: {
  name: string;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}[] = [
  {
    name: "A.1",
    ikm: repeat("0b", 22),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    length: 42,
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
    okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3",
    ikm: repeat("0b", 22),
    salt: "",
    info: "",
    length: 42,
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

/** An AEAD example: hex fields. */
export interface AeadVector {
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const SUNSCREEN = ascii(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);

/** RFC 8439 §2.8.2: ChaCha20-Poly1305 AEAD example. */
export const CHACHA20POLY1305_RFC8439: AeadVector = {
  key: range(0x80, 0x9f),
  nonce: "070000004041424344454647",
  aad: "50515253c0c1c2c3c4c5c6c7",
  plaintext: SUNSCREEN,
  ciphertext:
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
  tag: "1ae10b594f09e26a7e902ecbd0600691",
};

/** draft-irtf-cfrg-xchacha-03 Appendix A.3.1: XChaCha20-Poly1305 AEAD example. */
export const XCHACHA20POLY1305_DRAFT03: AeadVector = {
  key: range(0x80, 0x9f),
  nonce: range(0x40, 0x57),
  aad: "50515253c0c1c2c3c4c5c6c7",
  plaintext: SUNSCREEN,
  ciphertext:
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e",
  tag: "c0875924c1c7987947deafd8780acf49",
};
