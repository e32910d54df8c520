API=http://127.0.0.1:3000/your_moms/api-v2
# The instance token: as the instance's create (or its last token rotation) answered it
curl -s -i "$API/instance" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>, Element <INSERT_INSTANCE_TOKEN>'
