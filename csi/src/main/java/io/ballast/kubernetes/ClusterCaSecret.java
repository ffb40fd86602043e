package io.ballast.kubernetes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.ClusterCa;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's CA kept in a Secret in cert-manager's CA layout ({@code tls.crt}, {@code tls.key},
 * and {@code ca.crt} the same certificate), so an admin may make it with cert-manager (a CA
 * Certificate whose secretName is this one) or with {@code ballast certs ca} and kubectl, or let
 * the controller make it at its first start. Only the controller reads it (RBAC: get on this name).
 */
public final class ClusterCaSecret {
    public static final String DEFAULT_NAME = "ballast-ca";
    private static final Logger LOG = LoggerFactory.getLogger(ClusterCaSecret.class);
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);

    private ClusterCaSecret() {
    }

    /** The CA in Secret {@code namespace}/{@code name}; made (for {@code clusterId}) and stored if there is none. */
    public static ClusterCa loadOrCreate(KubernetesClient client, String namespace, String name, String clusterId) {
        String where = "Secret " + namespace + "/" + name;
        try {
            Secret s = client.secrets().inNamespace(namespace).withName(name).get();
            if (s == null) {
                ClusterCa ca = ClusterCa.generate(clusterId, CA_VALIDITY);
                String crt = b64(ca.certificatePem());
                Secret made = new SecretBuilder().withNewMetadata().withName(name).endMetadata().withType("kubernetes.io/tls")
                        .withData(Map.of("tls.crt", crt, "tls.key", b64(ca.keyPem()), "ca.crt", crt)).build();
                try {
                    client.secrets().inNamespace(namespace).resource(made).create();
                    LOG.info("made the cluster's CA for cluster {} and stored it in {}", clusterId, where);
                    return ca;
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                    s = client.secrets().inNamespace(namespace).withName(name).get(); // another controller made it first
                }
            }
            Map<String, String> data = s.getData() == null ? Map.of() : s.getData();
            if (!data.containsKey("tls.crt") || !data.containsKey("tls.key")) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, where + " lacks tls.crt or tls.key (a CA in cert-manager's layout)");
            }
            ClusterCa ca = ClusterCa.fromPem(text(data.get("tls.crt")), text(data.get("tls.key")), where);
            LOG.info("the cluster's CA is {}", where);
            return ca;
        } catch (KubernetesClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot read or create " + where + " at " + client.getMasterUrl()
                    + ": " + e.getMessage(), e);
        }
    }

    private static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
    }

    private static String text(String base64) {
        return new String(Base64.getDecoder().decode(base64), StandardCharsets.US_ASCII);
    }
}
