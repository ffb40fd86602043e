package io.ballast.replication.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call a node's Raft port, by the TLS peer's certificate.
 * <ul>
 *   <li>The Raft server-to-server service (vote, append, install, leader election, read index):
 *       every request must come from the peer its certificate names (CN = node id, as
 *       {@code ballast certs issue --name} writes it); without this one node could send entries or
 *       votes in another's name. With an {@link Admission}, the sender must also be admitted to
 *       the cluster (or a catalog member) or a member of the addressed group's configuration:
 *       Ratis itself checks the term, not who sends, so a certificate in no group could otherwise
 *       take over a group's leadership with a high term.</li>
 *   <li>The client and admin services (writes, group management, membership changes) carry client
 *       ids, not peer ids: with an {@link Admission} they serve operators' certificates and
 *       admitted nodes' only; without one (no catalog to admit) every certificate of the cluster.</li>
 * </ul>
 * A refused call ends with PERMISSION_DENIED and reaches no Raft division. Plaintext connections
 * carry no identity and pass: a node without {@code --tls-dir} has said so at start. A request
 * type this class does not know on the server service is refused (fail closed).
 */
final class PeerIdentityCheck implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(PeerIdentityCheck.class);

    /** Who is admitted, or null: every certificate of the cluster is. */
    private final Admission admission;

    PeerIdentityCheck(Admission admission) {
        this.admission = admission;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (tls == null) {
            return next.startCall(call, headers);
        }
        X509Certificate cert = peerCertificate(tls);
        String holder = cert == null ? "" : commonName(cert);
        if (!RaftServerProtocolServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            if (admission == null || (cert != null && CertificateRole.of(cert) == CertificateRole.OPERATOR)
                    || admission.admitted(holder)) {
                return next.startCall(call, headers);
            }
            refuse(call, "the certificate of " + holder + " is neither an operator's nor an admitted node's: an operator "
                    + "admits the node with 'ballast node admit " + holder + "'");
            return new ServerCall.Listener<>() {
            };
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (refused) {
                    return;
                }
                RaftProtos.RaftRpcRequestProto request = requestOf(message);
                String requestor = request == null ? null : request.getRequestorId().toStringUtf8();
                String why = null;
                if (requestor == null || !requestor.equals(holder)) {
                    why = "a " + call.getMethodDescriptor().getBareMethodName() + " request in the name of "
                            + (requestor == null ? "an unknown sender" : "peer " + requestor)
                            + " came with the certificate of " + holder + "; a node speaks Raft in its own name only";
                } else if (admission != null && !admission.admitted(holder)
                        && !admission.memberOf(holder, RaftGroupId.valueOf(request.getRaftGroupId().getId()))) {
                    why = "a " + call.getMethodDescriptor().getBareMethodName() + " request from " + holder
                            + ", which is neither admitted to the cluster nor a member of the group it addressed";
                }
                if (why != null) {
                    refused = true;
                    refuse(call, why);
                    return;
                }
                super.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }
        };
    }

    private static void refuse(ServerCall<?, ?> call, String why) {
        LOG.warn("refused: {} (from {})", why, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
    }

    /** The Raft peer id a server-to-server request claims to come from, or null for an unknown type. */
    static String requestorOf(Object message) {
        RaftProtos.RaftRpcRequestProto r = requestOf(message);
        return r == null ? null : r.getRequestorId().toStringUtf8();
    }

    private static RaftProtos.RaftRpcRequestProto requestOf(Object message) {
        return switch (message) {
            case RaftProtos.AppendEntriesRequestProto m -> m.getServerRequest();
            case RaftProtos.RequestVoteRequestProto m -> m.getServerRequest();
            case RaftProtos.InstallSnapshotRequestProto m -> m.getServerRequest();
            case RaftProtos.StartLeaderElectionRequestProto m -> m.getServerRequest();
            case RaftProtos.ReadIndexRequestProto m -> m.getServerRequest();
            default -> null;
        };
    }

    private static X509Certificate peerCertificate(SSLSession tls) {
        try {
            Certificate[] chain = tls.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate c ? c : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** The CN of the TLS peer's certificate, or "" when there is none. */
    static String commonName(SSLSession tls) {
        X509Certificate c = peerCertificate(tls);
        return c == null ? "" : commonName(c);
    }

    static String commonName(X509Certificate c) {
        try {
            for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return "";
        } catch (InvalidNameException e) {
            return "";
        }
    }
}
