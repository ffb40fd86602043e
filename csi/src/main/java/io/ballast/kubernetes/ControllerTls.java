package io.ballast.kubernetes;

import io.ballast.replication.tls.CertificateRole;
import io.ballast.replication.tls.ClusterCa;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's TLS in Kubernetes ({@code --tls-from=kubernetes}): the cluster's CA from its
 * Secret ({@link ClusterCaSecret}), the controller's own operator certificate issued from it into
 * its TLS directory and issued again when a third of its lifetime is left, and the
 * {@link NodeCertificateSigner} that certifies the node plugins' keys.
 */
public final class ControllerTls implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerTls.class);
    private static final Duration OWN_VALIDITY = Duration.ofDays(30);

    private final NodeCertificateSigner signer;
    private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "controller-certificate");
        t.setDaemon(true);
        return t;
    });

    private ControllerTls(KubernetesClient client, String namespace, String caSecret, String clusterId, Path tlsDir,
            String nodeServiceAccount, Duration nodeValidity) {
        ClusterCa ca = ClusterCaSecret.loadOrCreate(client, namespace, caSecret, clusterId);
        issueOwn(ca, clusterId, tlsDir);
        long every = OWN_VALIDITY.dividedBy(3).toMillis();
        renewer.scheduleWithFixedDelay(() -> {
            try {
                issueOwn(ca, clusterId, tlsDir);
            } catch (RuntimeException e) {
                LOG.warn("renewing the controller's certificate in {} failed (the current one stays in use): {}", tlsDir, e.getMessage());
            }
        }, every, every, TimeUnit.MILLISECONDS);
        signer = NodeCertificateSigner.start(client, namespace, nodeServiceAccount, ca, clusterId, nodeValidity);
    }

    /** Sets it all up; the controller's certificate is in {@code tlsDir} when this returns. */
    public static ControllerTls start(KubernetesClient client, String namespace, String caSecret, String clusterId, Path tlsDir,
            String nodeServiceAccount, Duration nodeValidity) {
        return new ControllerTls(client, namespace, caSecret, clusterId, tlsDir, nodeServiceAccount, nodeValidity);
    }

    private static void issueOwn(ClusterCa ca, String clusterId, Path tlsDir) {
        ca.issue("controller", clusterId, CertificateRole.OPERATOR, List.of(), List.of("controller"), OWN_VALIDITY, tlsDir);
        LOG.info("the controller's certificate is in {} (valid {})", tlsDir, OWN_VALIDITY);
    }

    @Override
    public void close() {
        renewer.shutdownNow();
        signer.close();
    }
}
