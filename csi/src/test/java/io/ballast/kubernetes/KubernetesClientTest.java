package io.ballast.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import org.junit.jupiter.api.Test;

/**
 * The API client starts and (de)serializes with the dependency versions Ballast ships: a Jackson
 * mismatch once made every client fail at construction, in the node plugin and the controller
 * alike, while every test built its API objects without a client.
 */
class KubernetesClientTest {
    @Test
    void aClientIsBuiltAndRoundTripsACertificateSigningRequest() {
        Config config = new ConfigBuilder().withMasterUrl("https://127.0.0.1:6443").withNamespace("ballast-system").build();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
            assertEquals("https://127.0.0.1:6443/", client.getMasterUrl().toString());
            CertificateSigningRequest csr = new CertificateSigningRequestBuilder().withNewMetadata().withName("ballast-node-n1-1")
                    .endMetadata().withNewSpec().withSignerName(NodeCertificateSigner.SIGNER).withRequest("cmVx").endSpec().build();
            String json = client.getKubernetesSerialization().asJson(csr);
            CertificateSigningRequest back = client.getKubernetesSerialization().unmarshal(json, CertificateSigningRequest.class);
            assertEquals(csr, back);
        }
    }
}
