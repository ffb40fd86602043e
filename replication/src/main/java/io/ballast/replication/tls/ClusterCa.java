package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A cluster's certificate authority: {@code ca.crt} and {@code ca.key} in a directory. It issues
 * certificates for nodes, the controller and the CLI, written in the {@link TlsDir} layout. Every
 * certificate names its holder (CN) and the cluster (O); keys are ECDSA P-256, private keys PKCS#8
 * PEM readable by their owner only. Issued certificates serve as both TLS server and client (mutual
 * TLS: a node is both), with the holder's IP addresses and DNS names as subject alternative names,
 * which a client checks against the address it dialled.
 */
public final class ClusterCa {
    public static final String CA_KEY = "ca.key";
    private static final String SIGNATURE = "SHA256withECDSA";

    private final X509Certificate cert;
    private final PrivateKey key;

    private ClusterCa(X509Certificate cert, PrivateKey key) {
        this.cert = cert;
        this.key = key;
    }

    /** Creates a CA for cluster {@code clusterId} in {@code dir}; ALREADY_EXISTS rather than overwrite one. */
    public static ClusterCa create(Path dir, String clusterId, Duration validity) {
        Path crt = dir.resolve(TlsDir.CA);
        if (Files.exists(crt) || Files.exists(dir.resolve(CA_KEY))) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "a CA exists in " + dir + " already; delete it first to make a new one");
        }
        try {
            KeyPair kp = newKeyPair();
            X500Name name = name("ballast-ca", clusterId);
            Instant now = Instant.now();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(300)),
                    Date.from(now.plus(validity)), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate c = sign(b, kp.getPrivate());
            Files.createDirectories(dir);
            writePem(dir.resolve(CA_KEY), pkcs8(kp), true);
            writePem(crt, c, false);
            return new ClusterCa(c, kp.getPrivate());
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot create a CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The CA in {@code dir}; NOT_FOUND naming the missing file. */
    public static ClusterCa load(Path dir) {
        Path crt = dir.resolve(TlsDir.CA);
        Path keyFile = dir.resolve(CA_KEY);
        for (Path f : List.of(crt, keyFile)) {
            if (!Files.isReadable(f)) {
                throw new BallastException(ErrorCode.NOT_FOUND, "no CA in " + dir + ": " + f.getFileName()
                        + " is missing ('ballast certs ca --out " + dir + "' makes one)");
            }
        }
        try (PEMParser certs = new PEMParser(Files.newBufferedReader(crt)); PEMParser keys = new PEMParser(Files.newBufferedReader(keyFile))) {
            X509Certificate c = new JcaX509CertificateConverter().getCertificate((X509CertificateHolder) certs.readObject());
            Object k = keys.readObject();
            PrivateKey key = k instanceof PEMKeyPair pair ? new JcaPEMKeyConverter().getKeyPair(pair).getPrivate()
                    : new JcaPEMKeyConverter().getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) k);
            return new ClusterCa(c, key);
        } catch (IOException | GeneralSecurityException | ClassCastException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot read the CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The cluster id this CA was made for (its O). */
    public String clusterId() {
        var o = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.O);
        return o.length == 0 ? "" : o[0].getFirst().getValue().toString();
    }

    /**
     * Issues a certificate for {@code holder} (a node id, "controller", "cli") of this CA's own
     * cluster with these IP addresses and DNS names, and writes tls.crt, tls.key and ca.crt into
     * {@code out}.
     */
    public TlsDir issue(String holder, List<String> ips, List<String> dnsNames, Duration validity, Path out) {
        return issue(holder, clusterId(), CertificateRole.defaultFor(holder), ips, dnsNames, validity, out);
    }

    /**
     * As above for cluster {@code cluster} with {@code role} (the OU): one CA may serve several
     * clusters, whose processes each accept only certificates naming their own cluster id (the O),
     * so a certificate of one cluster never opens another.
     */
    public TlsDir issue(String holder, String cluster, CertificateRole role, List<String> ips, List<String> dnsNames,
            Duration validity, Path out) {
        try {
            KeyPair kp = newKeyPair();
            Instant now = Instant.now();
            List<GeneralName> alt = new ArrayList<>();
            for (String ip : ips) {
                alt.add(new GeneralName(GeneralName.iPAddress, ip)); // BC refuses what is not an IP literal
            }
            for (String dns : dnsNames) {
                alt.add(new GeneralName(GeneralName.dNSName, dns));
            }
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(), Date.from(now.minusSeconds(300)),
                    Date.from(now.plus(validity)), name(holder, cluster, role), kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
            if (!alt.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(GeneralName[]::new)));
            }
            X509Certificate c = sign(b, key);
            Files.createDirectories(out);
            writePem(out.resolve(TlsDir.KEY), pkcs8(kp), true);
            writePem(out.resolve(TlsDir.CERT), c, false);
            writePem(out.resolve(TlsDir.CA), cert, false);
            return TlsDir.of(out);
        } catch (IOException | GeneralSecurityException | OperatorCreationException | IllegalArgumentException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot issue a certificate for " + holder + " into " + out
                    + ": " + e.getMessage(), e);
        }
    }

    private static X500Name name(String cn, String cluster) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, cluster).addRDN(BCStyle.CN, cn).build();
    }

    private static X500Name name(String cn, String cluster, CertificateRole role) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, cluster).addRDN(BCStyle.OU, role.unit())
                .addRDN(BCStyle.CN, cn).build();
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    /**
     * The private key as PKCS#8 whose inner ECPrivateKey (RFC 5915) also holds the public key. The
     * JDK's encoding leaves that optional field out, and GnuTLS, which libnbd and QEMU use for NBD
     * over TLS, refuses such a key ("ASN1 parser: Element was not found").
     */
    private static PemObject pkcs8(KeyPair kp) throws IOException {
        ECPrivateKey priv = (ECPrivateKey) kp.getPrivate();
        PrivateKeyInfo jdk = PrivateKeyInfo.getInstance(priv.getEncoded());
        ASN1BitString pub = SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()).getPublicKeyData();
        var inner = new org.bouncycastle.asn1.sec.ECPrivateKey(priv.getParams().getOrder().bitLength(), priv.getS(), pub, null);
        return new PemObject("PRIVATE KEY", new PrivateKeyInfo(jdk.getPrivateKeyAlgorithm(), inner).getEncoded());
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner s = new JcaContentSignerBuilder(SIGNATURE).build(signer);
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }

    /** Writes one PEM object atomically; {@code secret}: readable by its owner only (rw-------). */
    private static void writePem(Path file, Object pem, boolean secret) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(text)) {
            w.writeObject(pem);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, text.toString(), StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
