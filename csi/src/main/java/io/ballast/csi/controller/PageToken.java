package io.ballast.csi.controller;

import io.ballast.csi.CsiCalls;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

/**
 * Pagination for ListVolumes and ListSnapshots. A token is the id of the first entry of the next
 * page (lists are ordered by id), wrapped as base64url("kind:id"). Keyset rather than an offset: a
 * volume deleted between two pages must not make the next page skip or repeat entries, so a page
 * starts at the first id at or after the token's, whether or not that id still exists. A token we
 * did not issue (bad base64, wrong kind) is ABORTED, as the spec asks for an invalid starting_token.
 * Stateless, thread-safe.
 */
final class PageToken {
    private PageToken() {
    }

    /** A page of {@code sorted} (ordered by {@code id}) starting at {@code token}, at most {@code max} entries (0: all). */
    static <T> Page<T> page(String kind, List<T> sorted, Function<T, String> id, String token, int max) {
        if (max < 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "max_entries must not be negative, got " + max);
        }
        int start = 0;
        if (!token.isEmpty()) {
            String from = decode(kind, token);
            while (start < sorted.size() && id.apply(sorted.get(start)).compareTo(from) < 0) {
                start++;
            }
        }
        int end = max == 0 ? sorted.size() : (int) Math.min(sorted.size(), (long) start + max);
        String next = end < sorted.size() ? encode(kind, id.apply(sorted.get(end))) : "";
        return new Page<>(sorted.subList(start, end), next);
    }

    static String encode(String kind, String id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((kind + ":" + id).getBytes(StandardCharsets.UTF_8));
    }

    static String decode(String kind, String token) {
        String text;
        try {
            text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw invalid(token);
        }
        if (!text.startsWith(kind + ":") || text.length() == kind.length() + 1) {
            throw invalid(token);
        }
        return text.substring(kind.length() + 1);
    }

    private static RuntimeException invalid(String token) {
        return CsiCalls.aborted("starting_token '" + token + "' was not issued by this plugin; list again from the start");
    }

    record Page<T>(List<T> entries, String nextToken) {}
}
