package io.ballast.kubernetes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.CertificateRole;
import io.ballast.replication.tls.ClusterCa;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestCondition;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestConditionBuilder;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's signer for node certificates, Kubernetes's way (as kubelets get theirs): a node
 * plugin makes its key on its own disk and asks for a certificate with a CertificateSigningRequest
 * for signer {@value #SIGNER}; this loop approves or denies each by {@link SigningPolicy}, signs
 * the approved ones with the cluster's CA and puts the certificate (then the CA's) into the
 * request's status. Private keys never cross the API; the CA's key stays in the controller.
 *
 * <p>Threading: one thread of its own, every {@code every}; a failed round is logged and retried.
 */
public final class NodeCertificateSigner implements AutoCloseable {
    public static final String SIGNER = "ballast.csi.io/node";
    /** node name -> SHA-256 of the key it first enrolled with (trust on first use). */
    public static final String KEYS_CONFIG_MAP = "ballast-node-keys";
    private static final Logger LOG = LoggerFactory.getLogger(NodeCertificateSigner.class);

    private final KubernetesClient client;
    private final String namespace;
    private final String nodeServiceAccount;
    private final ClusterCa ca;
    private final String clusterId;
    private final Duration validity;
    private final ScheduledExecutorService loop;
    private volatile String lastProblem = "";

    private NodeCertificateSigner(KubernetesClient client, String namespace, String nodeServiceAccount, ClusterCa ca,
            String clusterId, Duration validity, Duration every) {
        this.client = client;
        this.namespace = namespace;
        this.nodeServiceAccount = nodeServiceAccount;
        this.ca = ca;
        this.clusterId = clusterId;
        this.validity = validity;
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "node-certificate-signer");
            t.setDaemon(true);
            return t;
        });
        loop.scheduleWithFixedDelay(this::round, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Signs node certificates of cluster {@code clusterId} with {@code ca}, valid for {@code validity}, until closed. */
    public static NodeCertificateSigner start(KubernetesClient client, String namespace, String nodeServiceAccount, ClusterCa ca,
            String clusterId, Duration validity) {
        LOG.info("signing node certificates ({} requests from service account {}/{}), valid {}", SIGNER, namespace,
                nodeServiceAccount, validity);
        return new NodeCertificateSigner(client, namespace, nodeServiceAccount, ca, clusterId, validity, Duration.ofSeconds(2));
    }

    private void round() {
        try {
            for (CertificateSigningRequest csr : client.certificates().v1().certificateSigningRequests().list().getItems()) {
                if (SIGNER.equals(csr.getSpec().getSignerName()) && !finished(csr)) {
                    handle(csr);
                }
            }
            lastProblem = "";
        } catch (KubernetesClientException | BallastException e) {
            String problem = e.getMessage();
            if (!problem.equals(lastProblem)) { // once per distinct problem, not every 2 s
                LOG.warn("signing node certificates: {} (retrying)", problem);
                lastProblem = problem;
            }
        } catch (RuntimeException e) {
            LOG.error("signing node certificates failed unexpectedly (retrying)", e);
        }
    }

    private void handle(CertificateSigningRequest csr) {
        String name = csr.getMetadata().getName();
        Map<String, String> keys = enrolledKeys();
        SigningPolicy.Verdict v = SigningPolicy.judge(csr.getSpec().getRequest(), csr.getSpec().getUsername(),
                "system:serviceaccount:" + namespace + ":" + nodeServiceAccount, n -> client.nodes().withName(n).get(), keys::get);
        var requests = client.certificates().v1().certificateSigningRequests();
        if (!v.approve()) {
            LOG.warn("denied certificate request {}: {}", name, v.reason());
            requests.withName(name).deny(condition("Denied", v.reason()));
            return;
        }
        if (!keys.containsKey(v.node())) {
            enroll(v.node(), v.keyFingerprint()); // before signing: a rival request with another key now loses
        }
        if (!hasCondition(csr, "Approved")) {
            csr = requests.withName(name).approve(condition("Approved", v.reason()));
        }
        X509Certificate c = ca.certify(v.key(), v.node(), clusterId, CertificateRole.NODE, v.ips(), v.dnsNames(), validity);
        String chain = ClusterCa.pem(c) + ca.certificatePem();
        if (csr.getStatus() == null) {
            csr.setStatus(new CertificateSigningRequestStatus());
        }
        csr.getStatus().setCertificate(Base64.getEncoder().encodeToString(chain.getBytes(StandardCharsets.US_ASCII)));
        requests.resource(csr).updateStatus();
        LOG.info("signed certificate request {}: {}, until {}", name, v.reason(), c.getNotAfter().toInstant());
    }

    private Map<String, String> enrolledKeys() {
        ConfigMap cm = client.configMaps().inNamespace(namespace).withName(KEYS_CONFIG_MAP).get();
        return cm == null || cm.getData() == null ? Map.of() : cm.getData();
    }

    /** Records {@code node}'s key; a conflicting write (another controller's) fails this round, which is retried. */
    private void enroll(String node, String fingerprint) {
        var maps = client.configMaps().inNamespace(namespace);
        ConfigMap cm = maps.withName(KEYS_CONFIG_MAP).get();
        if (cm == null) {
            maps.resource(new ConfigMapBuilder().withNewMetadata().withName(KEYS_CONFIG_MAP).endMetadata()
                    .withData(Map.of(node, fingerprint)).build()).create();
        } else {
            Map<String, String> data = new HashMap<>(cm.getData() == null ? Map.of() : cm.getData());
            if (data.putIfAbsent(node, fingerprint) != null) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + node + " enrolled meanwhile");
            }
            cm.setData(data);
            maps.resource(cm).update(); // carries the resourceVersion read: a concurrent change conflicts
        }
        LOG.info("node {} enrolled with key sha256 {}", node, fingerprint);
    }

    private static boolean finished(CertificateSigningRequest csr) {
        CertificateSigningRequestStatus s = csr.getStatus();
        return s != null && ((s.getCertificate() != null && !s.getCertificate().isEmpty())
                || hasCondition(csr, "Denied") || hasCondition(csr, "Failed"));
    }

    private static boolean hasCondition(CertificateSigningRequest csr, String type) {
        List<CertificateSigningRequestCondition> cs = csr.getStatus() == null ? null : csr.getStatus().getConditions();
        return cs != null && cs.stream().anyMatch(c -> type.equals(c.getType()));
    }

    private static CertificateSigningRequestCondition condition(String type, String message) {
        return new CertificateSigningRequestConditionBuilder().withType(type).withStatus("True").withReason("BallastSigningPolicy")
                .withMessage(message).withLastUpdateTime(Instant.now().toString()).build();
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
