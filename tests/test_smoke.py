def test_admin_signs_in_and_sees_dashboard(client, business, auth):
    response = auth.as_role(business, "admin")
    assert response.headers["Location"].endswith("/acme/admin/")
    page = client.get("/acme/admin/")
    assert page.status_code == 200
    assert "Dashboard" in page.get_data(as_text=True)
