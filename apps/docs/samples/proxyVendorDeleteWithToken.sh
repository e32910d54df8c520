API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X DELETE "$API/instance/proxy/Contacts/9b1e" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>, Element <INSERT_INSTANCE_TOKEN>'
