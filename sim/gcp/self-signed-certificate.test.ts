import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createSelfSignedCertificate } from './self-signed-certificate';

describe('createSelfSignedCertificate', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = createSelfSignedCertificate({
    privateKey,
    publicKey,
    commonName: 'cloud-commerce-partner.system.gserviceaccount.com',
    serial: Buffer.from('80a1b2c3d4e5f607', 'hex'),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2051-06-01T00:00:00Z'),
  });
  const certificate = new X509Certificate(pem);

  it('is a PEM certificate that node parses and whose signature its own key verifies', () => {
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/,
    );
    expect(certificate.verify(publicKey)).toBe(true);
  });

  it('names the subject and issuer, and carries the key', () => {
    expect(certificate.subject).toBe('CN=cloud-commerce-partner.system.gserviceaccount.com');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.publicKey.export({ format: 'jwk' })).toEqual(
      publicKey.export({ format: 'jwk' }),
    );
  });

  it('keeps a serial with the high bit set positive', () => {
    expect(certificate.serialNumber.toUpperCase()).toBe('80A1B2C3D4E5F607');
  });

  it('writes validity in UTCTime before 2050 and GeneralizedTime after', () => {
    expect(new Date(certificate.validFrom).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new Date(certificate.validTo).toISOString()).toBe('2051-06-01T00:00:00.000Z');
  });

  it('is a signing certificate, not a CA', () => {
    expect(certificate.ca).toBe(false);
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });
});
