package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
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
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

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
    private final KeyPair keyPair; // null when loaded: only a generated CA can write its key out

    private ClusterCa(X509Certificate cert, PrivateKey key, KeyPair keyPair) {
        this.cert = cert;
        this.key = key;
        this.keyPair = keyPair;
    }

    /** A new CA for cluster {@code clusterId}, in memory ({@link #create} also writes it). */
    public static ClusterCa generate(String clusterId, Duration validity) {
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
            return new ClusterCa(sign(b, kp.getPrivate()), kp.getPrivate(), kp);
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot create a CA: " + e.getMessage(), e);
        }
    }

    /** Creates a CA for cluster {@code clusterId} in {@code dir}; ALREADY_EXISTS rather than overwrite one. */
    public static ClusterCa create(Path dir, String clusterId, Duration validity) {
        Path crt = dir.resolve(TlsDir.CA);
        if (Files.exists(crt) || Files.exists(dir.resolve(CA_KEY))) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "a CA exists in " + dir + " already; delete it first to make a new one");
        }
        ClusterCa ca = generate(clusterId, validity);
        try {
            Files.createDirectories(dir);
            Pem.write(dir.resolve(CA_KEY), ca.keyPem(), true);
            Pem.write(crt, ca.certificatePem(), false);
            return ca;
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot create a CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The CA in {@code dir}: {@code ca.crt} and {@code ca.key} as {@code ballast certs ca} writes
     * them, or {@code tls.crt} and {@code tls.key} as a cert-manager CA Secret holds them (the
     * controller's {@code ballast-ca} Secret, extracted). NOT_FOUND naming the missing file.
     */
    public static ClusterCa load(Path dir) {
        boolean secretLayout = !Files.exists(dir.resolve(CA_KEY)) && Files.exists(dir.resolve(TlsDir.KEY));
        Path crt = dir.resolve(secretLayout ? TlsDir.CERT : TlsDir.CA);
        Path keyFile = dir.resolve(secretLayout ? TlsDir.KEY : CA_KEY);
        for (Path f : List.of(crt, keyFile)) {
            if (!Files.isReadable(f)) {
                throw new BallastException(ErrorCode.NOT_FOUND, "no CA in " + dir + ": " + f.getFileName()
                        + " is missing ('ballast certs ca --out " + dir + "' makes one)");
            }
        }
        try {
            return fromPem(Files.readString(crt), Files.readString(keyFile), dir.toString());
        } catch (IOException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot read the CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The CA from its certificate and key in PEM, read from {@code where} (named in errors). */
    public static ClusterCa fromPem(String certificatePem, String keyPem, String where) {
        try {
            X509Certificate c = Pem.certificate(certificatePem);
            if (c.getBasicConstraints() < 0) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the certificate in " + where + " ("
                        + c.getSubjectX500Principal() + ") is not a CA certificate");
            }
            return new ClusterCa(c, Pem.privateKey(keyPem), null);
        } catch (IOException | GeneralSecurityException | ClassCastException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot read the CA in " + where + ": " + e.getMessage(), e);
        }
    }

    /** The cluster id this CA was made for (its O). */
    public String clusterId() {
        var o = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.O);
        return o.length == 0 ? "" : o[0].getFirst().getValue().toString();
    }

    /** The CA's certificate in PEM: what every process trusts (ca.crt). */
    public String certificatePem() {
        return Pem.text(cert);
    }

    /** {@code certificate} in PEM. */
    public static String pem(X509Certificate certificate) {
        return Pem.text(certificate);
    }

    /** The CA's private key in PEM; only a CA made by {@link #generate} or {@link #create} gives it. */
    public String keyPem() {
        if (keyPair == null) {
            throw new IllegalStateException("a loaded CA does not write its key out again");
        }
        try {
            return Pem.text(Pem.pkcs8(keyPair));
        } catch (IOException e) {
            throw new IllegalStateException("encoding a generated key failed", e);
        }
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
            X509Certificate c = certify(kp.getPublic(), holder, cluster, role, ips, dnsNames, validity);
            Files.createDirectories(out);
            Pem.write(out.resolve(TlsDir.KEY), Pem.text(Pem.pkcs8(kp)), true);
            Pem.write(out.resolve(TlsDir.CERT), Pem.text(c), false);
            Pem.write(out.resolve(TlsDir.CA), certificatePem(), false);
            return TlsDir.of(out);
        } catch (IOException | GeneralSecurityException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot issue a certificate for " + holder + " into " + out
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * A certificate for {@code publicKey} (its holder keeps the private key: a certificate signing
     * request's), naming {@code holder}, {@code cluster} and {@code role}, for TLS server and client
     * use, with these addresses as subject alternative names. INVALID_ARGUMENT for an address that
     * is not an IP literal.
     */
    public X509Certificate certify(PublicKey publicKey, String holder, String cluster, CertificateRole role, List<String> ips,
            List<String> dnsNames, Duration validity) {
        try {
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
                    Date.from(now.plus(validity)), name(holder, cluster, role), publicKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
            if (!alt.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(GeneralName[]::new)));
            }
            return sign(b, key);
        } catch (IOException | GeneralSecurityException | OperatorCreationException | IllegalArgumentException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot issue a certificate for " + holder + ": " + e.getMessage(), e);
        }
    }

    private static X500Name name(String cn, String cluster) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, cluster).addRDN(BCStyle.CN, cn).build();
    }

    private static X500Name name(String cn, String cluster, CertificateRole role) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, cluster).addRDN(BCStyle.OU, role.unit())
                .addRDN(BCStyle.CN, cn).build();
    }

    static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner s = new JcaContentSignerBuilder(SIGNATURE).build(signer);
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }
}
