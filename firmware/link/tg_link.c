/* tinygen serial link framing, device side: streaming COBS decoder, COBS encoder, CRC-32.
 * See tg_link.h and docs/protocol.md. */
#include "tg_link.h"

#include <string.h>

#include "tg_board.h"

/* Nibble-table CRC-32: 64 bytes of table, ~2x the speed of the bitwise loop on a Cortex-M0. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t tg_crc32(uint32_t crc, const uint8_t *data, size_t len) {
  crc = ~crc;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
  }
  return ~crc;
}

/* ---- receiver: COBS decoded straight into rx_body ---- */
static uint8_t rx_body[TG_LINK_BODY_MAX];
static size_t rx_len;      /* decoded bytes so far */
static uint8_t rx_code;    /* bytes left in the current COBS block, including its code byte */
static uint8_t rx_zero;    /* the current block ends with an implied zero */
static uint8_t rx_bad;     /* this frame overflowed or was malformed: drop at its 0x00 */
static uint8_t rx_any;     /* at least one byte of this frame arrived */

static void rx_restart(void) {
  rx_len = 0;
  rx_code = 0;
  rx_zero = 0;
  rx_bad = 0;
  rx_any = 0;
}

static void rx_put(uint8_t b) {
  if (rx_len < sizeof rx_body) {
    rx_body[rx_len++] = b;
  } else {
    rx_bad = 1;
  }
}

/* End of frame: 1 valid, -1 damaged, 0 empty (back-to-back delimiters). */
static int rx_finish(tg_link_frame *out) {
  if (!rx_any) return 0;
  if (rx_bad || rx_code != 1 || rx_len < TG_LINK_HEADER_SIZE + TG_LINK_CRC_SIZE) return -1;
  size_t body = rx_len - TG_LINK_CRC_SIZE;
  if (tg_crc32(0, rx_body, body) != tg_get_u32(rx_body + body)) return -1;
  tg_link_header *h = &out->header;
  h->version = rx_body[0];
  h->type = rx_body[1];
  h->seq = tg_get_u16(rx_body + 2);
  h->status = rx_body[4];
  h->flags = rx_body[5];
  h->length = tg_get_u16(rx_body + 6);
  if ((size_t)h->length + TG_LINK_HEADER_SIZE != body) return -1;
  out->payload = rx_body + TG_LINK_HEADER_SIZE;
  return 1;
}

int tg_link_receive(tg_link_frame *out) {
  int c;
  while ((c = tg_serial_read_byte()) >= 0) {
    uint8_t b = (uint8_t)c;
    if (b == 0) {
      int r = rx_finish(out);
      rx_restart();
      if (r != 0) return r;
      continue;
    }
    rx_any = 1;
    if (rx_code <= 1) {          /* b is a code byte: start a block */
      if (rx_code == 1 && rx_zero) rx_put(0);
      rx_code = b;
      rx_zero = (b != 0xFF);
    } else {
      rx_put(b);
      rx_code--;
      continue;
    }
    /* a code byte of 1 means an empty block: nothing more to read in it */
  }
  return 0;
}

/* ---- transmitter: body in tx_body, COBS-encoded in 254-byte blocks ---- */
static uint8_t tx_body[TG_LINK_BODY_MAX];

uint8_t *tg_link_tx_payload(void) { return tx_body + TG_LINK_HEADER_SIZE; }

void tg_link_send(uint8_t type, uint16_t seq, uint8_t status, uint16_t length) {
  tg_link_send_flags(type, seq, status, 0, length);
}

void tg_link_send_flags(uint8_t type, uint16_t seq, uint8_t status, uint8_t flags, uint16_t length) {
  if (length > TG_LINK_MAX_PAYLOAD) length = 0; /* cannot happen with correct callers */
  tx_body[0] = (uint8_t)TG_LINK_VERSION;
  tx_body[1] = type;
  tg_put_u16(tx_body + 2, seq);
  tx_body[4] = status;
  tx_body[5] = flags;
  tg_put_u16(tx_body + 6, length);
  size_t n = TG_LINK_HEADER_SIZE + (size_t)length;
  tg_put_u32(tx_body + n, tg_crc32(0, tx_body, n));
  n += TG_LINK_CRC_SIZE;

  uint8_t block[256];
  size_t i = 0;
  for (;;) {
    size_t k = 0; /* data bytes in this block */
    while (i + k < n && k < 254 && tx_body[i + k] != 0) {
      block[1 + k] = tx_body[i + k];
      k++;
    }
    block[0] = (uint8_t)(k + 1);
    tg_serial_write(block, k + 1);
    i += k;
    if (i >= n) break;
    if (k < 254) i++;       /* consume the zero this block stands for */
    else if (i >= n) break; /* a full block at the very end needs no trailer */
  }
  static const uint8_t delimiter = 0;
  tg_serial_write(&delimiter, 1);
}
