package io.ballast.kubernetes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.EnrolledTlsDir;
import io.ballast.replication.tls.SigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestBuilder;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node plugin's certificate from the Kubernetes API: the key is made in the node's own TLS
 * directory and stays there; a CertificateSigningRequest for {@value NodeCertificateSigner#SIGNER}
 * carries its public half, and the controller's {@link NodeCertificateSigner} answers with the
 * certificate and the CA. {@link #ensure} waits for one at start; {@link #startRenewing} asks again
 * when a third of the lifetime is left. The node's TLS material reloads the new files by itself.
 */
public final class NodeCertificateEnrollment implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeCertificateEnrollment.class);
    private static final Duration POLL = Duration.ofSeconds(1);
    private static final Duration REMIND = Duration.ofSeconds(30);

    private final KubernetesClient client;
    private final String node;
    private final EnrolledTlsDir dir;
    private boolean enrolledThisStart;
    private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "certificate-renewal");
        t.setDaemon(true);
        return t;
    });

    public NodeCertificateEnrollment(KubernetesClient client, String node, EnrolledTlsDir dir) {
        this.client = client;
        this.node = node;
        this.dir = dir;
    }

    /** Returns once the directory holds a current certificate for its key, asking for one if needed. */
    public void ensure() throws InterruptedException {
        if (dir.needsCertificate(Instant.now())) {
            enroll();
            enrolledThisStart = true;
        }
    }

    /**
     * Checks now and then (a thirtieth of the certificate's lifetime, 10 s to 1 h) and renews in
     * time. A process that started on a certificate from before also asks for a new one once, in
     * the background: after a reinstall the cluster may have a new CA, which only the controller's
     * answer brings (meanwhile the node serves with what it has).
     */
    public void startRenewing() {
        if (!enrolledThisStart) {
            renewer.execute(() -> quietly(this::enroll, "refreshing this node's certificate at start failed (the current one stays in use)"));
        }
        long every = dir.certificate().map(c -> Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()).dividedBy(30))
                .orElse(Duration.ofMinutes(10)).toMillis();
        every = Math.max(10_000, Math.min(every, 3_600_000));
        renewer.scheduleWithFixedDelay(() -> quietly(this::ensure, "renewing this node's certificate failed (the current one stays in use; retrying)"),
                every, every, TimeUnit.MILLISECONDS);
    }

    /** One background attempt: a failure is logged, the node keeps serving with the certificate it has. */
    private static void quietly(Attempt attempt, String failure) {
        try {
            attempt.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("{}: {}", failure, e.getMessage());
        }
    }

    private interface Attempt {
        void run() throws InterruptedException;
    }

    private void enroll() throws InterruptedException {
        String name = "ballast-node-" + node + "-" + Instant.now().getEpochSecond();
        CertificateSigningRequest csr = new CertificateSigningRequestBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withSignerName(NodeCertificateSigner.SIGNER)
                .withUsages("digital signature", "key agreement", "server auth", "client auth")
                .withRequest(Base64.getEncoder().encodeToString(SigningRequest.create(dir.key(), node).getBytes(StandardCharsets.US_ASCII)))
                .endSpec().build();
        var requests = client.certificates().v1().certificateSigningRequests();
        try {
            requests.resource(csr).create();
        } catch (KubernetesClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot create certificate signing request " + name + " at "
                    + client.getMasterUrl() + ": " + e.getMessage(), e);
        }
        LOG.info("asked for this node's certificate: CertificateSigningRequest {} (signer {})", name, NodeCertificateSigner.SIGNER);
        long start = System.nanoTime();
        long remindAt = start + REMIND.toNanos();
        while (true) {
            CertificateSigningRequest now;
            try {
                now = requests.withName(name).get();
            } catch (KubernetesClientException e) {
                now = null; // the API is briefly away: keep asking
            }
            if (now == null) {
                LOG.debug("certificate signing request {} not readable now", name);
            } else if (now.getStatus() != null && now.getStatus().getCertificate() != null && !now.getStatus().getCertificate().isEmpty()) {
                install(name, new String(Base64.getDecoder().decode(now.getStatus().getCertificate()), StandardCharsets.US_ASCII));
                return;
            } else {
                CertificateSigningRequestCondition refusal = refusal(now);
                if (refusal != null) {
                    throw new BallastException(ErrorCode.PERMISSION_DENIED, "certificate signing request " + name + " was "
                            + refusal.getType().toLowerCase() + ": " + refusal.getMessage());
                }
            }
            if (System.nanoTime() >= remindAt) {
                LOG.warn("still waiting for certificate signing request {} to be signed ({} s): is the controller running with "
                        + "--tls-from=kubernetes?", name, (System.nanoTime() - start) / 1_000_000_000L);
                remindAt = System.nanoTime() + REMIND.toNanos();
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    private void install(String request, String chain) {
        int end = chain.indexOf("-----END CERTIFICATE-----");
        if (end < 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "certificate signing request " + request + " holds no certificate");
        }
        int split = end + "-----END CERTIFICATE-----".length();
        X509Certificate c = dir.install(chain.substring(0, split), chain.substring(split));
        LOG.info("this node's certificate is in {}: {}, until {}", dir.dir(), c.getSubjectX500Principal(), c.getNotAfter().toInstant());
    }

    private static CertificateSigningRequestCondition refusal(CertificateSigningRequest csr) {
        List<CertificateSigningRequestCondition> cs = csr.getStatus() == null ? null : csr.getStatus().getConditions();
        return cs == null ? null : cs.stream().filter(c -> "Denied".equals(c.getType()) || "Failed".equals(c.getType()))
                .findFirst().orElse(null);
    }

    @Override
    public void close() {
        renewer.shutdownNow();
    }
}
