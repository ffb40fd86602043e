package io.ballast.kubernetes;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.tls.SigningRequest;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Whether a node's certificate signing request is signed, and what the certificate says. The
 * request contributes its key and the node name it claims, nothing else:
 * <ul>
 *   <li>it must come from the node plugin's service account (the only one Ballast's RBAC lets
 *       create requests for this signer, besides cluster admins);</li>
 *   <li>it must name a node the API server knows; the certificate's addresses are that node's
 *       addresses as Kubernetes reports them (so it names the address peers dial), and its DNS
 *       name the node's name;</li>
 *   <li>a node keeps the key it first enrolled with (trust on first use): a request for a node
 *       that enrolled with another key is denied, so one node's plugin cannot take another node's
 *       identity once that node has enrolled. A reinstalled node is let in again by deleting its
 *       entry from the key record ({@link NodeCertificateSigner#KEYS_CONFIG_MAP}).</li>
 * </ul>
 */
final class SigningPolicy {
    private SigningPolicy() {
    }

    /** What to do with one request: sign it for these addresses, or deny it with a reason a person can act on. */
    record Verdict(boolean approve, String node, String reason, PublicKey key, String keyFingerprint, List<String> ips,
            List<String> dnsNames) {
        static Verdict deny(String node, String reason) {
            return new Verdict(false, node, reason, null, null, List.of(), List.of());
        }
    }

    /**
     * The verdict on a request: {@code requestBase64} as the API holds it (base64 of the PEM),
     * made by {@code username}; {@code nodes} the API's node of a name (null if none);
     * {@code enrolledKeys} the key fingerprint a node first enrolled with (null if never).
     */
    static Verdict judge(String requestBase64, String username, String allowedUser, Function<String, Node> nodes,
            Function<String, String> enrolledKeys) {
        if (!allowedUser.equals(username)) {
            return Verdict.deny(null, "requested by " + username + "; only the node plugin's service account (" + allowedUser
                    + ") may request node certificates");
        }
        SigningRequest request;
        try {
            request = SigningRequest.parse(new String(Base64.getDecoder().decode(requestBase64), StandardCharsets.US_ASCII));
        } catch (BallastException | IllegalArgumentException e) {
            return Verdict.deny(null, "unreadable request: " + e.getMessage());
        }
        String name = request.commonName();
        Node n = nodes.apply(name);
        if (n == null) {
            return Verdict.deny(name, "no Kubernetes node is named " + name + " (the request's CN must be the node plugin's --node-id, its node name)");
        }
        String key = request.keyFingerprint();
        String enrolledKey = enrolledKeys.apply(name);
        if (enrolledKey != null && !enrolledKey.equals(key)) {
            return Verdict.deny(name, "node " + name + " enrolled with another key (sha256 " + enrolledKey.substring(0, 16)
                    + "...); if the node was reinstalled, delete its entry from ConfigMap " + NodeCertificateSigner.KEYS_CONFIG_MAP);
        }
        List<String> ips = new ArrayList<>();
        List<String> dns = new ArrayList<>(List.of(name));
        List<NodeAddress> addresses = n.getStatus() == null || n.getStatus().getAddresses() == null ? List.of()
                : n.getStatus().getAddresses();
        for (NodeAddress a : addresses) {
            if (Set.of("InternalIP", "ExternalIP").contains(a.getType()) && !ips.contains(a.getAddress())) {
                ips.add(a.getAddress());
            } else if (Set.of("Hostname", "InternalDNS", "ExternalDNS").contains(a.getType()) && !dns.contains(a.getAddress())) {
                dns.add(a.getAddress());
            }
        }
        if (ips.isEmpty()) {
            return Verdict.deny(name, "node " + name + " has no InternalIP or ExternalIP address yet (its kubelet reports them)");
        }
        return new Verdict(true, name, "node " + name + ", key sha256 " + key.substring(0, 16) + "..., addresses " + ips,
                request.publicKey(), key, ips, dns);
    }
}
