package io.ballast.replication.tls;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.Reader;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key and trust managers of a {@link TlsDir}, shared by Ratis and the admin API:
 * <ul>
 *   <li><b>Rotation without a restart.</b> Both check the files' modification times at most every
 *   {@link #CHECK_EVERY} when a handshake uses them, and load them again when they changed
 *   (cert-manager renews a Secret's files in place; Kubernetes updates the mount). A file caught
 *   half-written fails to parse and the previous material stays in use until the next check.
 *   Connections already open keep their session.
 *   <li><b>The cluster's certificates only.</b> The trust manager accepts a peer whose chain the
 *   CA in {@code ca.crt} signed (the JDK's PKIX validation, with the endpoint check a client asks
 *   for) and, when a cluster id is given, whose certificate names that cluster (O): a certificate
 *   of the same CA issued for another cluster is refused.
 * </ul>
 * Threading: thread-safe; reloads are serialised.
 */
public final class TlsMaterial {
    private static final Logger LOG = LoggerFactory.getLogger(TlsMaterial.class);
    static final java.time.Duration CHECK_EVERY = java.time.Duration.ofSeconds(10);

    private final TlsDir dir;
    private final String clusterId;
    private final long checkEveryMillis;
    private volatile Loaded loaded;
    private volatile long checkedAt;

    private record Loaded(long stamp, X509ExtendedKeyManager keys, X509ExtendedTrustManager trust, String subject) {}

    private TlsMaterial(TlsDir dir, String clusterId, java.time.Duration checkEvery) {
        this.dir = dir;
        this.clusterId = clusterId;
        this.checkEveryMillis = checkEvery.toMillis();
        this.loaded = load();
        this.checkedAt = System.currentTimeMillis();
    }

    /** The material of {@code dir}, accepting peers of {@code clusterId} (null: any the CA signed). INVALID_ARGUMENT when unreadable. */
    public static TlsMaterial of(TlsDir dir, String clusterId) {
        return of(dir, clusterId, CHECK_EVERY);
    }

    /** As above, looking for changed files at most every {@code checkEvery}. */
    public static TlsMaterial of(TlsDir dir, String clusterId, java.time.Duration checkEvery) {
        return new TlsMaterial(dir, clusterId, checkEvery);
    }

    public TlsDir dir() {
        return dir;
    }

    /** The key manager: always the current certificate and key. */
    public X509ExtendedKeyManager keyManager() {
        return new KeyManager();
    }

    /** The trust manager: the current CA, and the cluster check. */
    public X509ExtendedTrustManager trustManager() {
        return new TrustManager();
    }

    private Loaded current() {
        long now = System.currentTimeMillis();
        if (now - checkedAt >= checkEveryMillis) {
            synchronized (this) {
                if (now - checkedAt >= checkEveryMillis) {
                    checkedAt = now;
                    if (stamp() != loaded.stamp()) {
                        try {
                            Loaded fresh = load();
                            LOG.info("TLS certificates in {} changed: now {} (was {})", dir.dir(), fresh.subject(), loaded.subject());
                            loaded = fresh;
                        } catch (BallastException e) {
                            LOG.warn("TLS certificates in {} changed but cannot be loaded (the previous ones stay in use): {}",
                                    dir.dir(), e.getMessage());
                        }
                    }
                }
            }
        }
        return loaded;
    }

    private long stamp() {
        long s = 17;
        for (Path f : List.of(dir.cert(), dir.key(), dir.ca())) {
            try {
                s = 31 * s + Files.getLastModifiedTime(f).toMillis();
                s = 31 * s + Files.size(f);
            } catch (IOException e) {
                s = 31 * s - 1;
            }
        }
        return s;
    }

    private Loaded load() {
        long stamp = stamp();
        try {
            List<X509Certificate> chain = certificates(dir.cert());
            List<X509Certificate> cas = certificates(dir.ca());
            if (chain.isEmpty() || cas.isEmpty()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "TLS directory " + dir.dir() + ": "
                        + (chain.isEmpty() ? TlsDir.CERT : TlsDir.CA) + " holds no certificate");
            }
            PrivateKey key = privateKey(dir.key());
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("self", key, new char[0], chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                ts.setCertificateEntry("ca" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            return new Loaded(stamp, (X509ExtendedKeyManager) kmf.getKeyManagers()[0],
                    (X509ExtendedTrustManager) tmf.getTrustManagers()[0], chain.get(0).getSubjectX500Principal().getName());
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (e instanceof BallastException b) {
                throw b;
            }
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot load the TLS certificates in " + dir.dir() + ": " + e, e);
        }
    }

    private static List<X509Certificate> certificates(Path pem) throws IOException, CertificateException {
        List<X509Certificate> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(pem); PEMParser p = new PEMParser(r)) {
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(new JcaX509CertificateConverter().getCertificate(h));
                }
            }
        }
        return out;
    }

    private static PrivateKey privateKey(Path pem) throws IOException {
        try (Reader r = Files.newBufferedReader(pem); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter c = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair pair) {
                return c.getKeyPair(pair).getPrivate();
            }
            if (o instanceof PrivateKeyInfo info) {
                return c.getPrivateKey(info);
            }
            throw new IOException(pem + " holds no unencrypted private key (found " + (o == null ? "nothing" : o.getClass().getSimpleName()) + ")");
        }
    }

    /** The cluster a certificate names (its O), or null. */
    static String clusterOf(X509Certificate cert) {
        var o = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.O);
        return o.length == 0 ? null : o[0].getFirst().getValue().toString();
    }

    private void checkCluster(X509Certificate[] chain) throws CertificateException {
        if (clusterId == null) {
            return;
        }
        String theirs = clusterOf(chain[0]);
        if (!clusterId.equals(theirs)) {
            throw new CertificateException("peer certificate " + chain[0].getSubjectX500Principal().getName()
                    + " is for cluster " + theirs + ", not " + clusterId);
        }
    }

    private final class KeyManager extends X509ExtendedKeyManager {
        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return current().keys().getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return current().keys().chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return current().keys().chooseEngineClientAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return current().keys().getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return current().keys().chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return current().keys().chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return current().keys().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return current().keys().getPrivateKey(alias);
        }
    }

    private final class TrustManager extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            current().trust().checkClientTrusted(chain, authType, socket);
            checkCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            current().trust().checkServerTrusted(chain, authType, socket);
            checkCluster(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            current().trust().checkClientTrusted(chain, authType, engine);
            checkCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            current().trust().checkServerTrusted(chain, authType, engine);
            checkCluster(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().trust().checkClientTrusted(chain, authType);
            checkCluster(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().trust().checkServerTrusted(chain, authType);
            checkCluster(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return current().trust().getAcceptedIssuers();
        }
    }
}
