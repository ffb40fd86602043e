package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.StringReader;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.HexFormat;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A PKCS#10 certificate signing request, as a node sends it to have its own key certified: it
 * proves possession of the key (it is signed with it) and names the node (its CN). The signer
 * takes nothing else from it: what the certificate says besides the key is the signer's to decide.
 */
public record SigningRequest(String commonName, PublicKey publicKey) {

    /** A request for {@code holder}'s key pair, in PEM ("CERTIFICATE REQUEST"). */
    public static String create(KeyPair key, String holder) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, holder).build();
        try {
            PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(subject, key.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()));
            return Pem.text(csr);
        } catch (OperatorCreationException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot sign a certificate request for " + holder + ": "
                    + e.getMessage(), e);
        }
    }

    /** The request in {@code pem}, its signature checked; INVALID_ARGUMENT saying what is wrong. */
    public static SigningRequest parse(String pem) {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            if (!(p.readObject() instanceof PKCS10CertificationRequest raw)) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "not a PEM certificate request");
            }
            JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(raw);
            PublicKey key = csr.getPublicKey();
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the request's signature does not match its key");
            }
            var cn = csr.getSubject().getRDNs(BCStyle.CN);
            if (cn.length != 1) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the request names " + cn.length + " CNs, not one");
            }
            return new SigningRequest(cn[0].getFirst().getValue().toString(), key);
        } catch (IOException | GeneralSecurityException | OperatorCreationException | PKCSException | RuntimeException e) {
            if (e instanceof BallastException b) {
                throw b;
            }
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot read the certificate request: " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the public key (its SubjectPublicKeyInfo), hex: what the signer remembers of a node's key. */
    public String keyFingerprint() {
        return fingerprint(publicKey);
    }

    /** SHA-256 of {@code key}'s SubjectPublicKeyInfo, hex. */
    public static String fingerprint(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
