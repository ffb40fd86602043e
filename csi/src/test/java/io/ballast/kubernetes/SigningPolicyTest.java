package io.ballast.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.replication.tls.CertificateRole;
import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.SigningRequest;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which node certificate requests the controller signs, and what the certificate then names (no API server needed). */
class SigningPolicyTest {
    private static final String NODE_SA = "system:serviceaccount:ballast-system:ballast-node";

    private static final Map<String, Node> NODES = Map.of(
            "worker-1", node("worker-1", List.of(new NodeAddress("10.0.0.1", "InternalIP"), new NodeAddress("worker-1.lan", "Hostname"),
                    new NodeAddress("203.0.113.7", "ExternalIP"))),
            "fresh", node("fresh", List.of(new NodeAddress("fresh", "Hostname"))));

    private static Node node(String name, List<NodeAddress> addresses) {
        return new NodeBuilder().withNewMetadata().withName(name).endMetadata().withNewStatus().withAddresses(addresses).endStatus().build();
    }

    private static KeyPair key() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static String request(KeyPair key, String node) {
        return Base64.getEncoder().encodeToString(SigningRequest.create(key, node).getBytes(StandardCharsets.US_ASCII));
    }

    private static SigningPolicy.Verdict judge(String request, String user, Map<String, String> enrolled) {
        return SigningPolicy.judge(request, user, NODE_SA, NODES::get, enrolled::get);
    }

    @Test
    void aNodesFirstRequestIsSignedForItsKubernetesAddressesWhateverTheRequestSays() throws Exception {
        KeyPair key = key();
        SigningPolicy.Verdict v = judge(request(key, "worker-1"), NODE_SA, Map.of());
        assertTrue(v.approve(), v.reason());
        assertEquals("worker-1", v.node());
        assertEquals(List.of("10.0.0.1", "203.0.113.7"), v.ips());
        assertEquals(List.of("worker-1", "worker-1.lan"), v.dnsNames());
        assertEquals(SigningRequest.fingerprint(key.getPublic()), v.keyFingerprint());

        // The certificate the signer makes from it: the node's name, the node role, the cluster, the request's key.
        ClusterCa ca = ClusterCa.generate("prod", Duration.ofDays(1));
        X509Certificate c = ca.certify(v.key(), v.node(), "prod", CertificateRole.NODE, v.ips(), v.dnsNames(), Duration.ofDays(30));
        assertEquals(key.getPublic(), c.getPublicKey());
        assertTrue(c.getSubjectX500Principal().getName().contains("CN=worker-1"), c.getSubjectX500Principal().getName());
        assertEquals(CertificateRole.NODE, CertificateRole.of(c));
        assertEquals(List.of("10.0.0.1", "203.0.113.7", "worker-1", "worker-1.lan"),
                c.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).toList());
    }

    @Test
    void renewalWithTheEnrolledKeyIsSignedAnotherKeyForThatNodeIsDenied() throws Exception {
        KeyPair key = key();
        Map<String, String> enrolled = Map.of("worker-1", SigningRequest.fingerprint(key.getPublic()));
        assertTrue(judge(request(key, "worker-1"), NODE_SA, enrolled).approve());

        SigningPolicy.Verdict impostor = judge(request(key(), "worker-1"), NODE_SA, enrolled);
        assertFalse(impostor.approve());
        assertTrue(impostor.reason().contains("enrolled with another key") && impostor.reason().contains("ballast-node-keys"),
                impostor.reason());
    }

    @Test
    void requestsFromAnyoneButTheNodePluginAreDenied() throws Exception {
        SigningPolicy.Verdict v = judge(request(key(), "worker-1"), "system:serviceaccount:default:app", Map.of());
        assertFalse(v.approve());
        assertTrue(v.reason().contains("only the node plugin's service account (" + NODE_SA + ")"), v.reason());
    }

    @Test
    void aNodeKubernetesDoesNotKnowOrOneWithoutAnAddressIsDenied() throws Exception {
        SigningPolicy.Verdict unknown = judge(request(key(), "worker-9"), NODE_SA, Map.of());
        assertFalse(unknown.approve());
        assertTrue(unknown.reason().contains("no Kubernetes node is named worker-9"), unknown.reason());

        SigningPolicy.Verdict noAddress = judge(request(key(), "fresh"), NODE_SA, Map.of());
        assertFalse(noAddress.approve());
        assertTrue(noAddress.reason().contains("no InternalIP or ExternalIP"), noAddress.reason());
    }

    @Test
    void anUnreadableOrForgedRequestIsDenied() throws Exception {
        SigningPolicy.Verdict garbage = judge(Base64.getEncoder().encodeToString("hello".getBytes(StandardCharsets.US_ASCII)), NODE_SA, Map.of());
        assertFalse(garbage.approve());
        assertTrue(garbage.reason().startsWith("unreadable request"), garbage.reason());
        assertFalse(judge("%%% not base64", NODE_SA, Map.of()).approve());

        // A request signed with one key but carrying another's public key: no proof of possession.
        String pem = SigningRequest.create(key(), "worker-1");
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        der[der.length - 5] ^= 1; // inside the signature
        String forged = "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END CERTIFICATE REQUEST-----\n";
        SigningPolicy.Verdict v = judge(Base64.getEncoder().encodeToString(forged.getBytes(StandardCharsets.US_ASCII)), NODE_SA, Map.of());
        assertFalse(v.approve());
        assertTrue(v.reason().startsWith("unreadable request"), v.reason());
    }
}
