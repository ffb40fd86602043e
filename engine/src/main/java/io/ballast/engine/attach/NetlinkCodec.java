package io.ballast.engine.attach;

import static io.ballast.engine.attach.NetlinkHeaderDescriptor.align;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generic netlink encoding, without syscalls: a {@link Builder} for one request, {@link #split}
 * for the messages of one received datagram, {@link Attrs} to read attributes. Layouts:
 * {@link NetlinkHeaderDescriptor}, {@link NetlinkAttrDescriptor}, {@link NetlinkErrorDescriptor}.
 * Everything host byte order (netlink is not a network protocol).
 *
 * <p>Not thread-safe (builders); parsing is pure. A malformed datagram from the kernel is an
 * INTERNAL {@link BallastException} (it would be a bug here or there, not bad input).
 */
final class NetlinkCodec {
    static final int NLMSG_NOOP = 1;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 1;
    static final int NLM_F_MULTI = 2;
    static final int NLM_F_ACK = 4;
    static final int NLM_F_CAPPED = 0x100;
    static final int NLM_F_ACK_TLVS = 0x200;

    private NetlinkCodec() {
    }

    /** Builds one generic netlink request: header, then attributes, then {@link #build()}. */
    static final class Builder {
        private ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());

        Builder(int type, int flags, int seq, int cmd, int version) {
            buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
            buf.put((byte) cmd).put((byte) version).putShort((short) 0);
        }

        Builder u16(int type, int value) {
            return attr(type, 2).putShort((short) value).pad();
        }

        Builder u32(int type, int value) {
            return attr(type, 4).putInt(value).pad();
        }

        Builder u64(int type, long value) {
            return attr(type, 8).putLong(value).pad();
        }

        /** A NUL-terminated string attribute (the kernel's NLA_STRING / NLA_NUL_STRING). */
        Builder string(int type, String value) {
            byte[] b = value.getBytes(StandardCharsets.UTF_8);
            if (value.indexOf('\0') >= 0) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "netlink string contains NUL: '" + value + "'");
            }
            return attr(type, b.length + 1).putBytes(b).putByte(0).pad();
        }

        /** Opens a nested attribute; returns its offset for {@link #endNested}. */
        int beginNested(int type) {
            int at = buf.position();
            attr(type | NetlinkAttrDescriptor.NLA_F_NESTED, 0);
            return at;
        }

        Builder endNested(int at) {
            buf.putShort(at + NetlinkAttrDescriptor.LEN_OFFSET, (short) (buf.position() - at));
            return this;
        }

        byte[] build() {
            buf.putInt(NetlinkHeaderDescriptor.LEN_OFFSET, buf.position());
            return Arrays.copyOf(buf.array(), buf.position());
        }

        private Builder attr(int type, int payload) {
            ensure(NetlinkAttrDescriptor.HEADER_LENGTH + align(payload));
            buf.putShort((short) (NetlinkAttrDescriptor.HEADER_LENGTH + payload)).putShort((short) type);
            return this;
        }

        private Builder putShort(short v) {
            buf.putShort(v);
            return this;
        }

        private Builder putInt(int v) {
            buf.putInt(v);
            return this;
        }

        private Builder putLong(long v) {
            buf.putLong(v);
            return this;
        }

        private Builder putBytes(byte[] b) {
            buf.put(b);
            return this;
        }

        private Builder putByte(int b) {
            buf.put((byte) b);
            return this;
        }

        private Builder pad() {
            while (buf.position() % NetlinkHeaderDescriptor.ALIGN != 0) {
                buf.put((byte) 0);
            }
            return this;
        }

        private void ensure(int more) {
            if (buf.remaining() < more) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + more))
                        .order(ByteOrder.nativeOrder());
                bigger.put(buf.array(), 0, buf.position());
                buf = bigger;
            }
        }
    }

    /** One received netlink message; {@code body} is everything after the 16-byte nlmsghdr. */
    record Message(int type, int flags, int seq, int pid, ByteBuffer body) {
        boolean isError() {
            return type == NLMSG_ERROR;
        }

        /** NLMSG_ERROR's error field: 0 for an ack, else a positive errno. */
        int errno() {
            return -body.getInt(NetlinkErrorDescriptor.ERROR_OFFSET);
        }

        /** The kernel's extended-ack message of an NLMSG_ERROR (NETLINK_EXT_ACK), or null. */
        String extackMessage() {
            if ((flags & NLM_F_ACK_TLVS) == 0) {
                return null;
            }
            int requestLength = body.getInt(NetlinkErrorDescriptor.REQUEST_HEADER_OFFSET);
            int tlvs = (flags & NLM_F_CAPPED) != 0 || errno() == 0
                    ? NetlinkErrorDescriptor.MIN_LENGTH : 4 + align(requestLength);
            if (tlvs >= body.limit()) {
                return null;
            }
            return Attrs.parse(body.duplicate().order(body.order()).position(tlvs).slice().order(body.order()))
                    .string(NetlinkErrorDescriptor.NLMSGERR_ATTR_MSG);
        }

        /** The generic netlink command of a family message. */
        int genlCommand() {
            return body.get(0) & 0xff;
        }

        /** The attributes of a generic netlink message (after the genlmsghdr). */
        Attrs genlAttrs() {
            return Attrs.parse(body.duplicate().order(body.order()).position(NetlinkHeaderDescriptor.GENL_LENGTH)
                    .slice().order(body.order()));
        }
    }

    /** Splits {@code length} bytes of one datagram into its messages. */
    static List<Message> split(byte[] datagram, int length) {
        ByteBuffer b = ByteBuffer.wrap(datagram, 0, length).order(ByteOrder.nativeOrder());
        List<Message> out = new ArrayList<>();
        int at = 0;
        while (length - at >= NetlinkHeaderDescriptor.NLMSG_LENGTH) {
            int len = b.getInt(at + NetlinkHeaderDescriptor.LEN_OFFSET);
            if (len < NetlinkHeaderDescriptor.NLMSG_LENGTH || len > length - at) {
                throw new BallastException(ErrorCode.INTERNAL, "malformed netlink message: length " + len
                        + " at offset " + at + " of a " + length + "-byte datagram");
            }
            int type = b.getShort(at + NetlinkHeaderDescriptor.TYPE_OFFSET) & 0xffff;
            int flags = b.getShort(at + NetlinkHeaderDescriptor.FLAGS_OFFSET) & 0xffff;
            int seq = b.getInt(at + NetlinkHeaderDescriptor.SEQ_OFFSET);
            int pid = b.getInt(at + NetlinkHeaderDescriptor.PID_OFFSET);
            ByteBuffer body = ByteBuffer.wrap(datagram, at + NetlinkHeaderDescriptor.NLMSG_LENGTH,
                    len - NetlinkHeaderDescriptor.NLMSG_LENGTH).slice().order(ByteOrder.nativeOrder());
            if (type == NLMSG_ERROR && body.limit() < NetlinkErrorDescriptor.MIN_LENGTH) {
                throw new BallastException(ErrorCode.INTERNAL, "truncated NLMSG_ERROR (" + len + " bytes)");
            }
            out.add(new Message(type, flags, seq, pid, body));
            at += align(len);
        }
        return out;
    }

    /** The attributes of one level, by type (flags masked off; a repeated type keeps the last). */
    static final class Attrs {
        private final Map<Integer, ByteBuffer> byType;
        private final List<Integer> order;

        private Attrs(Map<Integer, ByteBuffer> byType, List<Integer> order) {
            this.byType = byType;
            this.order = order;
        }

        static Attrs parse(ByteBuffer region) {
            Map<Integer, ByteBuffer> map = new LinkedHashMap<>();
            List<Integer> order = new ArrayList<>();
            int at = 0;
            while (region.limit() - at >= NetlinkAttrDescriptor.HEADER_LENGTH) {
                int len = region.getShort(at + NetlinkAttrDescriptor.LEN_OFFSET) & 0xffff;
                int type = region.getShort(at + NetlinkAttrDescriptor.TYPE_OFFSET) & NetlinkAttrDescriptor.TYPE_MASK;
                if (len < NetlinkAttrDescriptor.HEADER_LENGTH || len > region.limit() - at) {
                    throw new BallastException(ErrorCode.INTERNAL, "malformed netlink attribute: length " + len
                            + " at offset " + at + " of " + region.limit());
                }
                ByteBuffer payload = region.duplicate().position(at + NetlinkAttrDescriptor.HEADER_LENGTH)
                        .limit(at + len).slice().order(region.order());
                map.put(type, payload);
                order.add(type);
                at += align(len);
            }
            return new Attrs(map, order);
        }

        boolean has(int type) {
            return byType.containsKey(type);
        }

        /** Attribute types in the order received (nested arrays use 1..n as types). */
        List<Integer> types() {
            return List.copyOf(order);
        }

        int u16(int type) {
            return require(type, 2).getShort(0) & 0xffff;
        }

        int u32(int type) {
            return require(type, 4).getInt(0);
        }

        long u64(int type) {
            return require(type, 8).getLong(0);
        }

        /** A string attribute without its NUL, or null when absent. */
        String string(int type) {
            ByteBuffer p = byType.get(type);
            if (p == null) {
                return null;
            }
            int n = p.limit();
            while (n > 0 && p.get(n - 1) == 0) {
                n--;
            }
            byte[] b = new byte[n];
            p.get(0, b);
            return new String(b, StandardCharsets.UTF_8);
        }

        Attrs nested(int type) {
            ByteBuffer p = byType.get(type);
            return p == null ? new Attrs(Map.of(), List.of()) : parse(p);
        }

        private ByteBuffer require(int type, int size) {
            ByteBuffer p = byType.get(type);
            if (p == null || p.limit() < size) {
                throw new BallastException(ErrorCode.INTERNAL, "netlink attribute " + type + " is "
                        + (p == null ? "missing" : "too short (" + p.limit() + " bytes, want " + size + ")"));
            }
            return p;
        }
    }
}
