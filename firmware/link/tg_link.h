/* tinygen serial link, device side: framing (COBS + CRC-32) of the HIL protocol.
 *
 * Wire format: docs/protocol.md (protocol version TG_LINK_VERSION). A frame is COBS-encoded and
 * ends with 0x00; its body is an 8-byte header, the payload and a CRC-32 (IEEE, the zlib one) of
 * header + payload, all little-endian. The receiver is a byte-at-a-time state machine, so garbage
 * on the line costs at most the frame it lands in: the next 0x00 starts afresh.
 */
#ifndef TINYGEN_TG_LINK_H_
#define TINYGEN_TG_LINK_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_LINK_VERSION 1u

/* Largest payload in one frame. Boards with more RAM may raise it (-DTG_LINK_MAX_PAYLOAD=4096);
 * the host learns it from HELLO and chunks tensors to fit. */
#ifndef TG_LINK_MAX_PAYLOAD
#define TG_LINK_MAX_PAYLOAD 1024u
#endif

#define TG_LINK_HEADER_SIZE 8u
#define TG_LINK_CRC_SIZE 4u
#define TG_LINK_BODY_MAX (TG_LINK_HEADER_SIZE + TG_LINK_MAX_PAYLOAD + TG_LINK_CRC_SIZE)
#define TG_LINK_SEQ_NONE 0xFFFFu

/* Frame types. A reply's type is the request's type | TG_REPLY. */
enum tg_link_type {
  TG_CMD_HELLO = 0x01,
  TG_CMD_TENSOR_INFO = 0x02,
  TG_CMD_WRITE_INPUT = 0x03,
  TG_CMD_INVOKE = 0x04,
  TG_CMD_READ_OUTPUT = 0x05,
  TG_CMD_STATS = 0x06,
  TG_CMD_RESET = 0x07,
  TG_CMD_LINK_TEST = 0x08,
  TG_EVENT_BOOT = 0x7F, /* unsolicited, sent once at start-up with seq TG_LINK_SEQ_NONE */
  TG_REPLY = 0x80
};

enum tg_link_status {
  TG_LINK_OK = 0,
  TG_LINK_BAD_FRAME = 1,       /* CRC, COBS or length error; reply seq is TG_LINK_SEQ_NONE */
  TG_LINK_BAD_VERSION = 2,
  TG_LINK_UNKNOWN_COMMAND = 3,
  TG_LINK_BAD_ARGUMENT = 4,    /* index, offset or length out of range */
  TG_LINK_RUNTIME_ERROR = 5,   /* a tg_runtime_* call failed; payload: u32 tg_status */
  TG_LINK_TOO_LARGE = 6        /* payload longer than TG_LINK_MAX_PAYLOAD */
};

typedef struct {
  uint8_t version;
  uint8_t type;
  uint16_t seq;
  uint8_t status;
  uint8_t flags;
  uint16_t length;
} tg_link_header;

/* A received frame: header + payload (points into the receiver's buffer, valid until next poll). */
typedef struct {
  tg_link_header header;
  const uint8_t *payload;
} tg_link_frame;

/* CRC-32 (IEEE 802.3, reflected, init and xorout 0xFFFFFFFF) continuing from `crc` (0 to start). */
uint32_t tg_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* Feed received bytes (reads tg_serial_read_byte() until none is waiting or a frame completes).
 * Returns 1 and fills `out` when a valid frame completed; -1 when a damaged frame ended (the
 * caller answers TG_LINK_BAD_FRAME); 0 when nothing complete is waiting. */
int tg_link_receive(tg_link_frame *out);

/* Payload buffer for building a reply in place (TG_LINK_MAX_PAYLOAD bytes). */
uint8_t *tg_link_tx_payload(void);

/* Send one frame whose payload is already in tg_link_tx_payload(). */
void tg_link_send(uint8_t type, uint16_t seq, uint8_t status, uint16_t length);
/* The same with header flags (INVOKE replies: bit0 = the outputs follow the result). */
void tg_link_send_flags(uint8_t type, uint16_t seq, uint8_t status, uint8_t flags, uint16_t length);

/* Little-endian helpers for payloads. */
static inline uint32_t tg_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t tg_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void tg_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void tg_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_LINK_H_ */
