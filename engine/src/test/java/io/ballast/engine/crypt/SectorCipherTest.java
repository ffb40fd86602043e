package io.ballast.engine.crypt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sector cipher is dm-crypt's aes-cbc-essiv:sha256 and nothing of our own: its output equals
 * OpenSSL's AES-256-CBC with the IV OpenSSL's AES-256-ECB makes from the sector number under
 * SHA-256 of the key, and it decrypts back.
 */
class SectorCipherTest {
    @TempDir
    Path tmp;

    @Test
    void matchesOpensslsAesCbcWithAnEssivIv() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "needs /usr/bin/openssl (apt-get install openssl)");
        Random rnd = new Random(5);
        byte[] key = new byte[32];
        rnd.nextBytes(key);
        byte[] plain = new byte[4096];
        rnd.nextBytes(plain);
        long sector = 0x1_0000_0203L;

        ByteBuffer out = ByteBuffer.allocate(4096);
        new SectorCipher(key, 4096).encrypt(sector, ByteBuffer.wrap(plain), out);

        byte[] number = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putLong(0).array();
        byte[] iv = openssl(number, "-aes-256-ecb", "-K", hex(SectorCipher.sha256(key)));
        assertEquals(16, iv.length);
        byte[] expected = openssl(plain, "-aes-256-cbc", "-K", hex(key), "-iv", hex(iv));
        assertArrayEquals(expected, out.array());

        ByteBuffer back = ByteBuffer.allocate(4096);
        new SectorCipher(key, 4096).decrypt(sector, ByteBuffer.wrap(out.array()), back);
        assertArrayEquals(plain, back.array());
    }

    private byte[] openssl(byte[] input, String... args) throws Exception {
        Path in = Files.write(tmp.resolve("in"), input);
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/openssl", "enc", "-nopad", "-in", in.toString()));
        cmd.addAll(1, List.of());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        p.getInputStream().transferTo(o);
        assertEquals(0, p.waitFor(), "openssl " + cmd);
        return o.toByteArray();
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
