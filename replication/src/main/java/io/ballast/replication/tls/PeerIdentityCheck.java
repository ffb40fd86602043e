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
 * Binds a Raft peer's id to its certificate: on the Raft server-to-server service (vote, append,
 * install, leader election, read index), every request must come from the peer its certificate
 * names (CN = node id, as {@code ballast certs issue --name} writes it). Mutual TLS alone admits any
 * holder of a certificate of the cluster; without this check one node could send entries or votes
 * in another's name. A refused call ends with PERMISSION_DENIED and reaches no Raft division.
 *
 * <p>The client and admin services carry client ids, not peer ids: they stay open to every holder
 * of the cluster's certificate (the controller, the CLI, other nodes' frontends). Plaintext
 * connections carry no identity and pass: a node without {@code --tls-dir} has said so at start.
 * A request type this class does not know on the server service is refused (fail closed).
 */
final class PeerIdentityCheck implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(PeerIdentityCheck.class);

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (tls == null || !RaftServerProtocolServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String holder = commonName(tls);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (refused) {
                    return;
                }
                String requestor = requestorOf(message);
                if (requestor == null || !requestor.equals(holder)) {
                    refused = true;
                    String why = "a " + call.getMethodDescriptor().getBareMethodName() + " request in the name of "
                            + (requestor == null ? "an unknown sender" : "peer " + requestor)
                            + " came with the certificate of " + holder + "; a node speaks Raft in its own name only";
                    LOG.warn("refused: {} (from {})", why, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                    call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
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

    /** The Raft peer id a server-to-server request claims to come from, or null for an unknown type. */
    static String requestorOf(Object message) {
        RaftProtos.RaftRpcRequestProto r = switch (message) {
            case RaftProtos.AppendEntriesRequestProto m -> m.getServerRequest();
            case RaftProtos.RequestVoteRequestProto m -> m.getServerRequest();
            case RaftProtos.InstallSnapshotRequestProto m -> m.getServerRequest();
            case RaftProtos.StartLeaderElectionRequestProto m -> m.getServerRequest();
            case RaftProtos.ReadIndexRequestProto m -> m.getServerRequest();
            default -> null;
        };
        return r == null ? null : r.getRequestorId().toStringUtf8();
    }

    /** The CN of the TLS peer's certificate, or "" when there is none. */
    static String commonName(SSLSession tls) {
        try {
            Certificate[] chain = tls.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate c)) {
                return "";
            }
            for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return "";
        } catch (SSLPeerUnverifiedException | InvalidNameException e) {
            return "";
        }
    }
}
