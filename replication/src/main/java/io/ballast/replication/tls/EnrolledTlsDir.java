package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A {@link TlsDir} whose key is made here and never leaves it, and whose certificate a signer
 * issues for that key (a Kubernetes certificate signing request, {@code NodeCertificateEnrollment}):
 * the key is created once (rw-------, directory rwx------) and kept across renewals; a certificate
 * is installed only if it certifies that key. A running process's {@link TlsMaterial} picks up a
 * renewed certificate by itself.
 */
public final class EnrolledTlsDir {
    private final Path dir;

    public EnrolledTlsDir(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    public Path dir() {
        return dir;
    }

    /** This directory's key pair, created on first use. */
    public KeyPair key() {
        Path file = dir.resolve(TlsDir.KEY);
        try {
            if (Files.exists(file)) {
                return Pem.keyPair(Files.readString(file));
            }
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            KeyPair kp = ClusterCa.newKeyPair();
            Pem.write(file, Pem.text(Pem.pkcs8(kp)), true);
            return kp;
        } catch (IOException | GeneralSecurityException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot read or create the TLS key " + file + ": " + e.getMessage(), e);
        }
    }

    /** The installed certificate, if any is readable. */
    public Optional<X509Certificate> certificate() {
        Path file = dir.resolve(TlsDir.CERT);
        try {
            return Files.exists(file) ? Optional.of(Pem.certificate(Files.readString(file))) : Optional.empty();
        } catch (IOException | GeneralSecurityException e) {
            return Optional.empty();
        }
    }

    /**
     * True when there is no certificate for this key, or it expires within a third of its lifetime
     * (as kubelet renews its own): time enough for several attempts before it lapses.
     */
    public boolean needsCertificate(Instant now) {
        Optional<X509Certificate> c = certificate();
        if (c.isEmpty() || !c.get().getPublicKey().equals(key().getPublic())) {
            return true;
        }
        Instant from = c.get().getNotBefore().toInstant();
        Instant until = c.get().getNotAfter().toInstant();
        Duration third = Duration.between(from, until).dividedBy(3);
        return !now.isBefore(until.minus(third));
    }

    /**
     * Installs {@code certificatePem} (with the CA it was issued by) after checking it certifies
     * this directory's key: ca.crt first, then tls.crt, each replaced atomically.
     */
    public X509Certificate install(String certificatePem, String caPem) {
        try {
            X509Certificate c = Pem.certificate(certificatePem);
            X509Certificate ca = Pem.certificate(caPem);
            if (!c.getPublicKey().equals(key().getPublic())) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the issued certificate " + c.getSubjectX500Principal()
                        + " is not for the key in " + dir.resolve(TlsDir.KEY));
            }
            c.verify(ca.getPublicKey());
            Pem.write(dir.resolve(TlsDir.CA), Pem.text(ca), false);
            Pem.write(dir.resolve(TlsDir.CERT), Pem.text(c), false);
            return c;
        } catch (IOException | GeneralSecurityException e) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot install the issued certificate in " + dir + ": "
                    + e.getMessage(), e);
        }
    }
}
