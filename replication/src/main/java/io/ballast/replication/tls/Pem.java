package io.ballast.replication.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;

/** PEM text of certificates and keys, and writing it to files the way certificates are kept. */
final class Pem {
    private Pem() {
    }

    /** One PEM object (a certificate, a {@link PemObject}, a CSR) as text. */
    static String text(Object pem) {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(text)) {
            w.writeObject(pem);
        } catch (IOException e) {
            throw new IllegalStateException("writing PEM to a string failed", e); // a StringWriter does not fail
        }
        return text.toString();
    }

    /**
     * The private key as PKCS#8 whose inner ECPrivateKey (RFC 5915) also holds the public key. The
     * JDK's encoding leaves that optional field out, and GnuTLS, which libnbd and QEMU use for NBD
     * over TLS, refuses such a key ("ASN1 parser: Element was not found").
     */
    static PemObject pkcs8(KeyPair kp) throws IOException {
        ECPrivateKey priv = (ECPrivateKey) kp.getPrivate();
        PrivateKeyInfo jdk = PrivateKeyInfo.getInstance(priv.getEncoded());
        ASN1BitString pub = SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()).getPublicKeyData();
        var inner = new org.bouncycastle.asn1.sec.ECPrivateKey(priv.getParams().getOrder().bitLength(), priv.getS(), pub, null);
        return new PemObject("PRIVATE KEY", new PrivateKeyInfo(jdk.getPrivateKeyAlgorithm(), inner).getEncoded());
    }

    /** The first certificate in {@code text}. */
    static X509Certificate certificate(String text) throws IOException, GeneralSecurityException {
        try (PEMParser p = new PEMParser(new StringReader(text))) {
            Object o = p.readObject();
            if (!(o instanceof X509CertificateHolder h)) {
                throw new IOException("no PEM certificate found");
            }
            return new JcaX509CertificateConverter().getCertificate(h);
        }
    }

    /** The private key in {@code text} (PKCS#8 or a traditional EC key pair). */
    static PrivateKey privateKey(String text) throws IOException {
        try (PEMParser p = new PEMParser(new StringReader(text))) {
            Object k = p.readObject();
            if (k instanceof PEMKeyPair pair) {
                return new JcaPEMKeyConverter().getKeyPair(pair).getPrivate();
            }
            if (k instanceof PrivateKeyInfo info) {
                return new JcaPEMKeyConverter().getPrivateKey(info);
            }
            throw new IOException("no PEM private key found");
        }
    }

    /** The key pair in {@code text}, as {@link #pkcs8} wrote it (the public key inside). */
    static KeyPair keyPair(String text) throws IOException {
        try (PEMParser p = new PEMParser(new StringReader(text))) {
            Object k = p.readObject();
            if (k instanceof PEMKeyPair pair) {
                return new JcaPEMKeyConverter().getKeyPair(pair);
            }
            if (k instanceof PrivateKeyInfo info) {
                var inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
                if (inner.getPublicKey() == null) {
                    throw new IOException("the private key does not hold its public key");
                }
                var pub = new SubjectPublicKeyInfo(info.getPrivateKeyAlgorithm(), inner.getPublicKey().getBytes());
                JcaPEMKeyConverter c = new JcaPEMKeyConverter();
                return new KeyPair(c.getPublicKey(pub), c.getPrivateKey(info));
            }
            throw new IOException("no PEM private key found");
        }
    }

    /** Writes PEM text atomically; {@code secret}: readable by its owner only (rw-------). */
    static void write(Path file, String text, boolean secret) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
