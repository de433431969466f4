import { generate } from 'selfsigned';

/** A PEM key pair for the emulator's TLS listener. */
export interface TlsMaterial {
  key: string;
  cert: string;
}

/**
 * Generates a fresh self-signed certificate valid for 127.0.0.1 and localhost.
 * It is its own CA: clients trust exactly this certificate through their `ca` option, so TLS checks stay on.
 */
export async function generateLoopbackCertificate(): Promise<TlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
