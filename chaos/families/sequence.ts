import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { columnExists, counts, type FamilyHarness, pickRow } from '../lib/harness.js';
import { intIn } from '../lib/rng.js';

const CONVERSATIONS = 'public.conversations';

/**
 * Nova: sends (now, back-dated, without created_at), sends to several conversations in one
 * transaction (in conversation_id order, the documented order), edits, soft and hard deletes
 * (also of a conversation's newest message), members joining and leaving, new and deleted
 * conversations.
 */
export const sequenceHarness: FamilyHarness = {
  name: 'sequence',
  schema: 'public',
  baseTables: ['public.conversations', 'public.conversation_members', 'public.messages'],
  resyncTargets: ['conversation-stats', 'sequence-numbers'],
  appErrors: ['23503'],
  async setup(db) {
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 300, messages: 6000 });
  },
  ops: [
    {
      name: 'send',
      weight: 5,
      async run(c, rnd) {
        const conv = await pickRow<{ id: string }>(c, rnd, CONVERSATIONS, 'id', 'id');
        if (!conv) return;
        const dice = rnd();
        const at =
          dice < 0.15
            ? `now() - interval '${intIn(rnd, 1, 40)} days'`
            : dice < 0.18
              ? 'NULL'
              : 'now()';
        await c.query(
          `INSERT INTO public.messages (conversation_id, sender_id, content, created_at)
           SELECT $1, gen_random_uuid(), 'chaos ' || g, (${at})::timestamptz FROM generate_series(1, $2) g`,
          [conv.id, intIn(rnd, 1, 3)],
        );
      },
    },
    {
      name: 'send-several-conversations',
      async run(c, rnd) {
        const ids = new Set<string>();
        for (let i = intIn(rnd, 2, 3); i > 0; i--) {
          const conv = await pickRow<{ id: string }>(c, rnd, CONVERSATIONS, 'id', 'id');
          if (conv) ids.add(conv.id);
        }
        for (const id of [...ids].sort())
          await c.query(
            `INSERT INTO public.messages (conversation_id, sender_id, content) VALUES ($1, gen_random_uuid(), 'multi')`,
            [id],
          );
      },
    },
    {
      name: 'edit',
      async run(c, rnd) {
        const m = await pickRow<{ id: string }>(c, rnd, 'public.messages', 'id', 'id');
        if (m)
          await c.query(
            `UPDATE public.messages SET content = content || ' (edited)', edited_at = now() WHERE id = $1`,
            [m.id],
          );
      },
    },
    {
      name: 'soft-delete',
      async run(c, rnd) {
        const m = await pickRow<{ id: string }>(c, rnd, 'public.messages', 'id', 'id');
        if (m) await c.query('UPDATE public.messages SET deleted_at = now() WHERE id = $1', [m.id]);
      },
    },
    {
      name: 'hard-delete',
      async run(c, rnd) {
        const m = await pickRow<{ id: string }>(c, rnd, 'public.messages', 'id', 'id');
        if (m) await c.query('DELETE FROM public.messages WHERE id = $1', [m.id]);
      },
    },
    {
      name: 'delete-newest',
      async run(c, rnd) {
        const conv = await pickRow<{ id: string }>(c, rnd, CONVERSATIONS, 'id', 'id');
        if (!conv) return;
        await c.query(
          `DELETE FROM public.messages WHERE id = (SELECT id FROM public.messages WHERE conversation_id = $1
             ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1)`,
          [conv.id],
        );
      },
    },
    {
      name: 'member-join',
      async run(c, rnd) {
        const conv = await pickRow<{ id: string }>(c, rnd, CONVERSATIONS, 'id', 'id');
        if (conv)
          await c.query(
            'INSERT INTO public.conversation_members (conversation_id, user_id) VALUES ($1, gen_random_uuid())',
            [conv.id],
          );
      },
    },
    {
      name: 'member-leave',
      async run(c, rnd) {
        const m = await pickRow<{ id: string }>(c, rnd, 'public.conversation_members', 'id', 'id');
        if (m) await c.query('DELETE FROM public.conversation_members WHERE id = $1', [m.id]);
      },
    },
    {
      name: 'new-conversation',
      weight: 0.3,
      async run(c) {
        const { rows } = await c.query(
          `INSERT INTO public.conversations (id, conversation_type, created_by) VALUES (gen_random_uuid(), 'direct', gen_random_uuid())
           RETURNING id`,
        );
        await c.query(
          `INSERT INTO public.conversation_members (conversation_id, user_id) SELECT $1, gen_random_uuid() FROM generate_series(1, 2)`,
          [rows[0].id],
        );
        await c.query(
          `INSERT INTO public.messages (conversation_id, sender_id, content) VALUES ($1, gen_random_uuid(), 'first')`,
          [rows[0].id],
        );
      },
    },
    {
      name: 'delete-conversation',
      weight: 0.1,
      async run(c, rnd) {
        const conv = await pickRow<{ id: string }>(c, rnd, CONVERSATIONS, 'id', 'id');
        if (conv) await c.query('DELETE FROM public.conversations WHERE id = $1', [conv.id]);
      },
    },
  ],
  async drift(c, target) {
    if (target === 'conversation-stats') {
      await c.query(
        'UPDATE public.conversations SET member_count = member_count + 1 WHERE random() < 0.3',
      );
      await c.query(
        'UPDATE public.conversations SET last_message_id = NULL, last_message_at = NULL WHERE random() < 0.2',
      );
      return;
    }
    // Messages written with the triggers off (a replica-role session): no number.
    await c.query("SET session_replication_role = 'replica'");
    await c.query(
      `INSERT INTO public.messages (conversation_id, sender_id, content, created_at)
       SELECT id, gen_random_uuid(), 'unnumbered', '2020-01-01' FROM public.conversations WHERE random() < 0.1 AND last_message_id IS NOT NULL ORDER BY id`,
    );
    await c.query('RESET session_replication_role');
  },
  async oracle(c) {
    if (
      !(await columnExists(c, 'public.conversations', 'member_count')) ||
      !(await columnExists(c, 'public.messages', 'sequence_number'))
    )
      return { always: {}, afterResync: {} };
    // Written from the rules, not from dbops' SQL: numbers unique and set, counters never below
    // the highest number, member_count = members, last message = newest by (created_at, id).
    const d = await counts(
      c,
      `WITH per AS (
         SELECT c.id, c.last_sequence_number AS counter, c.member_count, c.last_message_id, c.last_message_at,
                (SELECT max(sequence_number) FROM public.messages m WHERE m.conversation_id = c.id) AS max_seq,
                (SELECT count(*) FROM public.conversation_members cm WHERE cm.conversation_id = c.id) AS members,
                (SELECT row(m.id, m.created_at) FROM public.messages m
                  WHERE m.conversation_id = c.id AND m.created_at IS NOT NULL
                  ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS newest
           FROM public.conversations c)
       SELECT (SELECT count(*) FROM (SELECT 1 FROM public.messages WHERE sequence_number IS NOT NULL
                 GROUP BY conversation_id, sequence_number HAVING count(*) > 1) x) AS duplicates,
              (SELECT count(*) FROM public.messages WHERE sequence_number IS NULL) AS nulls,
              count(*) FILTER (WHERE counter < coalesce(max_seq, 0)) AS "counterBelowMax",
              count(*) FILTER (WHERE member_count IS DISTINCT FROM members) AS "memberCount",
              count(*) FILTER (WHERE row(last_message_id, last_message_at) IS DISTINCT FROM
                                     coalesce(newest, row(NULL::uuid, NULL::timestamptz))) AS "lastMessage"
         FROM per`,
    );
    return { always: d, afterResync: {} };
  },
};
