from community import services


def test_fixtures_make_a_community(ctx, make_thread, make_reply, make_member):
    bob = make_member("Bob Builder")
    thread = make_thread(title="Where is the export button?")
    reply = make_reply(thread, bob)
    assert reply.number == 1
    assert services.get_thread(thread.id, None).reply_count == 1
