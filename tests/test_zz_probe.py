def test_probe(client, make_thread, make_member, token_for):
    t = make_thread()
    for url in ["/api/v1/threads/99999999999999999999999", "/api/v1/threads?page=99999999999999999999999",
                "/api/v1/members/99999999999999999999", f"/api/v1/threads/{t.id}?page=99999999999999999999"]:
        r = client.get(url)
        print(url, r.status_code, r.get_json())
    m = make_member()
    h = token_for(m)
    r = client.post("/api/v1/notifications/read", data="{bad", headers={**h, "Content-Type": "application/json"})
    print(r.status_code, r.get_json())
    r = client.post("/api/v1/threads", data="x" * (3 * 1024 * 1024), headers={**h, "Content-Type": "application/json"})
    print(r.status_code, r.get_json())
