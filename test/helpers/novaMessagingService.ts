/**
 * The writes of Nova's messaging service against its own schema line
 * (shared/fixtures/real/sequence_real_messaging_service.sql), rebuilt from proerror77/Nova at
 * commit 2a6c9707: backend/messaging-service/src/services/message_service.rs (send_message_db:
 * the conversation_counters CTE) and conversation_service.rs (create_group_conversation writes
 * member_count; remove_member decrements it). They show who writes what on that line: the
 * application numbers messages and counts members itself.
 */
import type pg from 'pg';

/** send_message_db: next number from conversation_counters, written into sequence_number. */
export async function sendMessage(
  client: pg.ClientBase,
  conversationId: string,
  senderId: string,
  content: string,
): Promise<number> {
  const { rows } = await client.query<{ sequence_number: string }>(
    `WITH next AS (
       INSERT INTO conversation_counters (conversation_id, last_seq) VALUES ($2, 1)
       ON CONFLICT (conversation_id) DO UPDATE SET last_seq = conversation_counters.last_seq + 1
       RETURNING last_seq
     )
     INSERT INTO messages (id, conversation_id, sender_id, content, idempotency_key, sequence_number)
     SELECT gen_random_uuid(), $2, $1, $3, NULL, next.last_seq FROM next
     RETURNING sequence_number`,
    [senderId, conversationId, content],
  );
  return Number(rows[0]!.sequence_number);
}

/** create_group_conversation: the conversation row carries the member count the service computed. */
export async function createGroup(
  client: pg.ClientBase,
  creator: string,
  members: string[],
): Promise<string> {
  const all = [creator, ...members.filter((m) => m !== creator)];
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO conversations (id, kind, name, member_count, privacy_mode, admin_key_version)
     VALUES (gen_random_uuid(), 'group', 'new group', $1, 'search_enabled', 1) RETURNING id`,
    [all.length],
  );
  const id = rows[0]!.id;
  for (const [i, member] of all.entries())
    await client.query(
      `INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [id, member, i === 0 ? 'owner' : 'member'],
    );
  return id;
}

/** remove_member: the member row goes, and the service decrements member_count itself. */
export async function removeMember(
  client: pg.ClientBase,
  conversationId: string,
  userId: string,
): Promise<void> {
  await client.query(
    'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId],
  );
  await client.query(
    'UPDATE conversations SET member_count = member_count - 1 WHERE id = $1 AND member_count > 0',
    [conversationId],
  );
}
