/**
 * The best hand-written SQL for each sequence job: what an operator would paste into psql instead
 * of running dbops. Schema public, no parameters unless noted, each runnable by hand as printed.
 * History order is the family's: (created_at, id) ascending, NULL created_at first.
 */

/**
 * The migration's backfill (0007) as one statement: every message numbered 1..n per
 * conversation by one window over the table, content_tsv filled in the same row write, and the
 * counters of every conversation still NULL computed. Not online: it holds the row lock of every
 * message and conversation until it commits (writers of any conversation wait for all of it),
 * and a failure or Ctrl-C loses everything done, which dbops' committed batches do not.
 */
export const BACKFILL_SQL = `
WITH numbered AS (
  UPDATE public.messages m
     SET sequence_number = t.n,
         content_tsv = coalesce(m.content_tsv,
                                to_tsvector('english'::regconfig, coalesce(m.content, '')))
    FROM (SELECT id, row_number() OVER (PARTITION BY conversation_id
                                        ORDER BY created_at ASC NULLS FIRST, id) AS n
            FROM public.messages) t
   WHERE m.id = t.id
  RETURNING m.conversation_id
), per AS (
  SELECT conversation_id, count(*) AS n FROM numbered GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*)::integer AS n FROM public.conversation_members
   GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at FROM public.messages
   WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
), counters AS (
  UPDATE public.conversations c
     SET last_sequence_number = coalesce(per.n, 0), member_count = coalesce(members.n, 0),
         last_message_id = newest.id, last_message_at = newest.created_at
    FROM public.conversations c2
    LEFT JOIN per ON per.conversation_id = c2.id
    LEFT JOIN members ON members.conversation_id = c2.id
    LEFT JOIN newest ON newest.conversation_id = c2.id
   WHERE c2.id = c.id AND c.last_sequence_number IS NULL
  RETURNING 1
)
SELECT (SELECT count(*) FROM numbered)::int AS numbered,
       (SELECT count(*) FROM counters)::int AS conversations`;

/**
 * `resync sequence-numbers` as one statement: messages without a number and every extra copy of
 * a number (the copy created first keeps it) get fresh numbers above the conversation's counter
 * and highest number, in history order; the counters are raised to the new highest number.
 * Not safe against live writers (a message inserted meanwhile can take a number it hands out).
 */
export const RESYNC_NUMBERS_SQL = `
WITH todo AS MATERIALIZED (
  SELECT o.id, o.conversation_id,
         row_number() OVER (PARTITION BY o.conversation_id
                            ORDER BY o.created_at ASC NULLS FIRST, o.id) AS n
    FROM (SELECT id, conversation_id, created_at FROM public.messages
           WHERE sequence_number IS NULL
          UNION ALL
          SELECT r.id, r.conversation_id, r.created_at FROM (
            SELECT m.id, m.conversation_id, m.created_at,
                   row_number() OVER (PARTITION BY m.conversation_id, m.sequence_number
                                      ORDER BY m.created_at ASC NULLS LAST, m.id) AS copy
              FROM public.messages m
              JOIN (SELECT conversation_id, sequence_number FROM public.messages
                     WHERE sequence_number IS NOT NULL
                     GROUP BY conversation_id, sequence_number HAVING count(*) > 1) d
                ON d.conversation_id = m.conversation_id AND d.sequence_number = m.sequence_number) r
           WHERE r.copy > 1) o
), base AS (
  SELECT c.id, greatest(coalesce(c.last_sequence_number, 0),
                        coalesce((SELECT max(sequence_number) FROM public.messages
                                   WHERE conversation_id = c.id), 0)) AS base
    FROM public.conversations c WHERE c.id IN (SELECT conversation_id FROM todo)
), renumbered AS (
  UPDATE public.messages m SET sequence_number = b.base + t.n
    FROM todo t JOIN base b ON b.id = t.conversation_id
   WHERE m.id = t.id
  RETURNING m.conversation_id, m.sequence_number
), counters AS (
  UPDATE public.conversations c SET last_sequence_number = r.top
    FROM (SELECT conversation_id, max(sequence_number) AS top FROM renumbered
           GROUP BY conversation_id) r
   WHERE c.id = r.conversation_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM renumbered)::int AS updated,
       (SELECT count(*) FROM counters)::int AS counters`;

/**
 * `resync conversation-stats` as one statement: every conversation's counters from one
 * aggregate pass over messages and one over conversation_members, written only where they
 * differ. A counter above the highest number is kept (numbers handed out are never reused).
 */
export const RESYNC_STATS_SQL = `
WITH highest AS (
  SELECT conversation_id, max(sequence_number) AS n FROM public.messages GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*)::integer AS n FROM public.conversation_members
   GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at FROM public.messages
   WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
), t AS (
  SELECT c.id, greatest(coalesce(c.last_sequence_number, 0), coalesce(h.n, 0)) AS last_sequence_number,
         coalesce(mb.n, 0) AS member_count, nw.id AS last_message_id, nw.created_at AS last_message_at
    FROM public.conversations c
    LEFT JOIN highest h ON h.conversation_id = c.id
    LEFT JOIN members mb ON mb.conversation_id = c.id
    LEFT JOIN newest nw ON nw.conversation_id = c.id
), updated AS (
  UPDATE public.conversations c
     SET last_sequence_number = t.last_sequence_number, member_count = t.member_count,
         last_message_id = t.last_message_id, last_message_at = t.last_message_at
    FROM t
   WHERE c.id = t.id
     AND (c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
         IS DISTINCT FROM (t.last_sequence_number, t.member_count, t.last_message_id, t.last_message_at)
  RETURNING 1
)
SELECT count(*)::int AS updated FROM updated`;

/**
 * The six consistency findings of `check consistency sequence`, with the same definitions,
 * counted in one statement: one aggregate pass over messages per conversation (NULLs, counter,
 * gaps), one grouping by (conversation, number) for the copies, one over the members and the
 * newest message per conversation.
 */
export const CHECK_SQL = `
WITH per AS (
  SELECT conversation_id, count(*) - count(sequence_number) AS nulls,
         min(sequence_number) AS lowest, max(sequence_number) AS highest,
         count(DISTINCT sequence_number) AS n
    FROM public.messages GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*)::integer AS n FROM public.conversation_members
   GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at FROM public.messages
   WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
), conv AS (
  SELECT count(*) FILTER (WHERE c.last_sequence_number IS NULL
                             OR c.last_sequence_number < p.highest) AS counter,
         count(*) FILTER (WHERE (coalesce(p.n, 0) > 0 AND (p.lowest <> 1 OR p.highest <> p.n))
                             OR coalesce(c.last_sequence_number, 0) > coalesce(p.highest, 0)) AS gaps,
         count(*) FILTER (WHERE c.member_count IS DISTINCT FROM coalesce(mb.n, 0)) AS member_count,
         count(*) FILTER (WHERE (c.last_message_id, c.last_message_at)
                                IS DISTINCT FROM (nw.id, nw.created_at)) AS last_message
    FROM public.conversations c
    LEFT JOIN per p ON p.conversation_id = c.id
    LEFT JOIN members mb ON mb.conversation_id = c.id
    LEFT JOIN newest nw ON nw.conversation_id = c.id
)
SELECT (SELECT coalesce(sum(nulls), 0) FROM per)::int AS nulls,
       (SELECT coalesce(sum(k), 0) FROM (
          SELECT count(*) AS k FROM public.messages WHERE sequence_number IS NOT NULL
           GROUP BY conversation_id, sequence_number HAVING count(*) > 1) d)::int AS duplicates,
       counter::int, gaps::int, member_count::int AS "member-count",
       last_message::int AS "last-message"
  FROM conv`;

/**
 * One application statement sending messages ($1 = uuid[] of conversation ids, one per row;
 * $2 = timestamptz of the first row, later rows a microsecond apart), rows ordered by
 * conversation_id as the family documents. By hand:
 * PREPARE send(uuid[], timestamptz) AS <this>; EXECUTE send(ARRAY[...]::uuid[], now());
 */
export const SEND_SQL = `
INSERT INTO public.messages (conversation_id, sender_id, content, created_at)
SELECT x.conversation_id, md5('bench sender')::uuid, 'bench message ' || x.n,
       $2::timestamptz + x.n * interval '1 microsecond'
  FROM unnest($1::uuid[]) WITH ORDINALITY AS x(conversation_id, n)
 ORDER BY x.conversation_id`;

/**
 * The same send as Nova's own schema makes it without dbops: Nova's migration adds content_tsv as
 * a STORED generated column, `to_tsvector('english', coalesce(content, ''))`, so every insert
 * computes it (and the GIN index on it gets the row's lexemes). A generated column cannot be
 * added to the bench's messages (the family's plain column is there, and adding one rewrites the
 * table), so the baseline computes the same expression in the statement: the same function call
 * per row, the same column and index writes. Same parameters as SEND_SQL.
 */
export const NOVA_SEND_SQL = `
INSERT INTO public.messages (conversation_id, sender_id, content, created_at, content_tsv)
SELECT x.conversation_id, md5('bench sender')::uuid, x.content,
       $2::timestamptz + x.n * interval '1 microsecond',
       to_tsvector('english'::regconfig, coalesce(x.content, ''))
  FROM (SELECT u.conversation_id, u.n, 'bench message ' || u.n AS content
          FROM unnest($1::uuid[]) WITH ORDINALITY AS u(conversation_id, n)) x
 ORDER BY x.conversation_id`;
