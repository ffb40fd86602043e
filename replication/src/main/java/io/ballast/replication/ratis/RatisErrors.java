package io.ballast.replication.ratis;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.exceptions.StateMachineException;

/**
 * The one place where Ratis's exceptions become {@link BallastException}s. A state machine refuses
 * a request by throwing a {@link BallastException}; Ratis ships only its message to the client
 * (inside a {@link StateMachineException}), so the code travels in the message as
 * {@code BALLAST[CODE] text} and is parsed back here.
 */
public final class RatisErrors {
    private static final Pattern TAGGED = Pattern.compile("BALLAST\\[([A-Z_]+)] ([^\\n]*)");

    private RatisErrors() {}

    /** An exception for startTransaction whose message carries the code across the wire. */
    public static IOException refusal(BallastException e) {
        return new IOException("BALLAST[" + e.code() + "] " + e.getMessage(), e);
    }

    /**
     * The failure a state machine's query answers with: a {@link StateMachineException}, which Ratis
     * sends back as the reply's exception. Any other exception fails the call itself, and the client
     * then asks again for seconds (50 tries) and, in its ordered stream, fails every request sent
     * after it and closes the stream for good: one fenced or corrupt read took the reads behind it
     * down with it.
     */
    public static StateMachineException queryRefusal(BallastException e) {
        return new StateMachineException("BALLAST[" + e.code() + "] " + e.getMessage());
    }

    /** The reply's failure as a BallastException, or null when it succeeded. */
    public static BallastException of(RaftClientReply reply, String what) {
        if (reply.isSuccess()) {
            return null;
        }
        return map(reply.getException(), what);
    }

    /** True when the reply failed because the group already exists on the asked server (an idempotent add). */
    public static boolean alreadyExists(RaftClientReply reply) {
        for (Throwable c = reply.getException(); c != null; c = c.getCause()) {
            if (c instanceof AlreadyExistsException) {
                return true;
            }
        }
        return false;
    }

    /** True when Ratis closed the client that failed with {@code t} for good: only a new client helps. */
    public static boolean closedForGood(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof AlreadyClosedException) {
                return true;
            }
        }
        return false;
    }

    /** How gRPC words a PERMISSION_DENIED status in an exception's message. */
    private static final String REFUSED = "PERMISSION_DENIED:";

    /** Maps any failure of a Ratis call. Unknown causes with no quorum in sight: UNAVAILABLE. */
    public static BallastException map(Throwable t, String what) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BallastException be) {
                return be;
            }
            String m = c.getMessage();
            if (m != null && m.contains(REFUSED)) {
                // A node's PeerIdentityCheck refused the caller's certificate: no retry helps, say why.
                return new BallastException(ErrorCode.PERMISSION_DENIED, what + ": "
                        + m.substring(m.indexOf(REFUSED) + REFUSED.length()).strip(), t);
            }
            if (m != null) {
                Matcher matcher = TAGGED.matcher(m);
                if (matcher.find()) {
                    ErrorCode code;
                    try {
                        code = ErrorCode.valueOf(matcher.group(1));
                    } catch (IllegalArgumentException e) {
                        code = ErrorCode.INTERNAL;
                    }
                    return new BallastException(code, what + ": " + matcher.group(2), t);
                }
            }
        }
        if (t instanceof StateMachineException) {
            return new BallastException(ErrorCode.INTERNAL, what + ": " + t.getMessage(), t);
        }
        if (t instanceof TimeoutException || t instanceof IOException || t.getCause() instanceof IOException) {
            return new BallastException(ErrorCode.UNAVAILABLE, what + ": no quorum or timed out (" + t + ")", t);
        }
        return new BallastException(ErrorCode.UNAVAILABLE, what + ": " + t, t);
    }
}
