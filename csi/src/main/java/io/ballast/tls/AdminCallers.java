package io.ballast.tls;

import io.ballast.replication.tls.Admission;
import io.ballast.replication.tls.CertificateRole;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call a node's admin API: with an {@link Admission} (a node of a cluster with a catalog),
 * an operator's certificate (the CLI's, the controller's) or an admitted node's; a certificate of
 * the cluster whose node the catalog has not admitted is refused with PERMISSION_DENIED before any
 * method runs. Each call carries whether its caller is an operator ({@link #callerIsOperator()}),
 * for the methods only operators may call. Plaintext calls carry no identity: they pass as an
 * operator's, on a node that said at start that it serves plaintext.
 */
public final class AdminCallers implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(AdminCallers.class);
    private static final Context.Key<Boolean> OPERATOR = Context.key("ballast-caller-is-operator");

    private final Admission admission;

    /** {@code admission}: who is admitted, or null when every certificate of the cluster is. */
    public AdminCallers(Admission admission) {
        this.admission = admission;
    }

    /** True when the current call came with an operator's certificate, or in plaintext. */
    public static boolean callerIsOperator() {
        return Boolean.TRUE.equals(OPERATOR.get());
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (tls == null) {
            return Contexts.interceptCall(Context.current().withValue(OPERATOR, true), call, headers, next);
        }
        X509Certificate cert = peer(tls);
        boolean operator = cert != null && CertificateRole.of(cert) == CertificateRole.OPERATOR;
        String holder = cert == null ? "" : CertificateRole.holder(cert);
        if (admission != null && !operator && !admission.admitted(holder)) {
            String why = "the certificate of " + holder + " is neither an operator's nor an admitted node's: an operator "
                    + "admits the node with 'ballast node admit " + holder + "'";
            LOG.warn("refused {}: {} (from {})", call.getMethodDescriptor().getBareMethodName(), why,
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return Contexts.interceptCall(Context.current().withValue(OPERATOR, operator), call, headers, next);
    }

    private static X509Certificate peer(SSLSession tls) {
        try {
            Certificate[] chain = tls.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate c ? c : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
